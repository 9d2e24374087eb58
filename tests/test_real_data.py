"The RLE codec and the labels table on real Severstal labels (skipped when ../shared/data/severstal is absent)."
import numpy as np
import pandas as pd

from steel_segmentation.core import rle2mask, mask2rle, open_image
from steel_segmentation.data import read_labels, label_counts, get_masks, classes


def test_rle_round_trip_on_all_real_masks(real):
    df = pd.read_csv(real/'labels'/'train_partial.csv')
    assert len(df) == 3689
    for img, cls, rle in zip(df.ImageId, df.ClassId, df.EncodedPixels):
        m = rle2mask(rle, (256, 1600), img, cls)
        assert m.shape == (256, 1600) and m.dtype == np.uint8
        assert mask2rle(m) == rle, (img, cls)
        assert mask2rle(np.ascontiguousarray(m)) == rle, (img, cls)
        assert mask2rle(m.astype(bool)) == rle, (img, cls)


def test_both_label_formats_give_the_same_table(real):
    cur = read_labels(real, 'images_labels.csv', 'images')
    old = read_labels(real, 'images_labels_oldformat.csv', 'images')
    pd.testing.assert_frame_equal(cur, old)
    assert len(cur) == 21 and classes(cur) == ['1', '2', '3', '4'] and cur.attrs['shape'] == (256, 1600)
    raw = pd.read_csv(real/'images_labels.csv')
    counts = label_counts(cur)
    assert counts.loc[['1', '2', '3', '4'], 'masks'].tolist() == raw.ClassId.value_counts().sort_index().tolist()
    assert counts.loc['defect-free', 'masks'] == 21 - raw.ImageId.nunique()


def test_real_masks_lie_on_real_images(real):
    "Every decoded mask has the image's size, and the 20 PNG-bytes-as-.jpg files read by content"
    labels = read_labels(real, 'images_labels.csv', 'images')
    for i, img in enumerate(labels.ImageId):
        im = open_image(real/'images'/img, 'L')
        m = get_masks(labels, i)
        assert m.shape[1:] == (im.height, im.width)
    assert sum((real/'images'/o).read_bytes()[:4] == b'\x89PNG' for o in labels.ImageId) == 20


def test_partial_train_table(real):
    imgs = pd.read_csv(real/'labels'/'train_partial_images.csv').ImageId.tolist()
    labels = read_labels(real/'labels', 'train_partial.csv', img_dir=None, images=imgs, shape=(256, 1600))
    raw = pd.read_csv(real/'labels'/'train_partial.csv')
    assert len(labels) == 5621
    assert (labels[classes(labels)] != '').to_numpy().sum() == len(raw)
    assert label_counts(labels).loc['defect-free', 'masks'] == 5621 - raw.ImageId.nunique()
