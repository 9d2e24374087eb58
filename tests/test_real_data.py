"The RLE codec and the labels table on real Severstal labels (skipped when ../shared/data/severstal is absent)."
import numpy as np
import pandas as pd

from steel_segmentation.rle import rle2mask, mask2rle
from steel_segmentation.images import open_image
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


def test_steel_import_reads_neu_seg(neu, tmp_path):
    "steel-import turns NEU-Seg into a Kaggle layout that read_labels and check_dataset accept, masks identical to the PNGs"
    import subprocess
    from PIL import Image
    from steel_segmentation.data import class_names
    from steel_segmentation.data import check_dataset
    dst = tmp_path/'neu'
    r = subprocess.run(['steel-import', str(neu), str(dst), '--classes', 'inclusion,patches,scratches', '--test-size', '0.2',
                        '--seed', '0'], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '3,129 images of 200x200' in r.stdout and 'inclusion (1,285 masks)' in r.stdout
    train, test = read_labels(dst), read_labels(dst, 'test_labels.csv', 'test_images')
    assert class_names(train) == ['inclusion', 'patches', 'scratches'] and train.attrs['shape'] == (200, 200)
    assert len(train) + len(test) == 3129 and len(test) == 626
    assert len(check_dataset(dst, progress=False)) == 0
    # stratified: each class's share of the test set is close to its share overall
    for c in classes(train):
        share = (test[c] != '').mean()
        assert abs(share - ((train[c] != '').sum() + (test[c] != '').sum())/3129) < 0.03
    for tab in (train, test):
        for i, img in enumerate(tab.ImageId):
            idx = np.asarray(Image.open(neu/'masks'/(img[:-4] + '.png')))
            assert np.array_equal(get_masks(tab, i), np.stack([idx == c for c in (1, 2, 3)]).astype(np.uint8)), img
            assert (dst/('test_images' if tab is test else 'train_images')/img).read_bytes() == (neu/'images'/img).read_bytes()
