"The fastai pipeline end to end: overlay figures written as PNG, and `check_dataset` on a damaged copy of the sample."
import shutil

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from steel_segmentation.data import read_labels, classes
from steel_segmentation.sample import sample_path
from steel_segmentation.data import check_dataset
from steel_segmentation.dataloaders import SteelDataLoaders


@pytest.fixture(scope='module')
def sample():
    return sample_path(n_train=20, n_test=4)


def coloured_share(fig, ax):
    "Share of the pixels inside `ax` that are not grey (the images are grey, so colour comes from the overlays)"
    fig.canvas.draw()
    buf = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
    x0, y0, x1, y1 = ax.get_window_extent().extents
    h = buf.shape[0]
    px = buf[int(h - y1) + 2:int(h - y0) - 2, int(x0) + 2:int(x1) - 2]
    return float(((px.max(-1) - px.min(-1)) > 40).mean())


def test_show_batch_png(sample, tmp_path):
    dls = SteelDataLoaders.from_path(sample, bs=2, crop=(64, 256), n_folds=4, num_workers=0, valid_bs=8)
    n = len(dls.valid_ds)
    assert n <= 8
    dls.valid.show_batch(max_n=n)
    fig = plt.gcf()
    axs = [a for a in fig.axes if a.images]
    assert len(axs) == n
    masks = [dls.valid_ds[i][1] for i in range(n)]
    assert any(m.sum() > 0 for m in masks) and any(m.sum() == 0 for m in masks), "the fold should hold both kinds"
    for ax, m in zip(axs, masks):
        share = coloured_share(fig, ax)
        if m.sum() > 0: assert share > 0, "a defect must be drawn in colour"
        else: assert share < 0.001, f"nothing should be coloured on a defect-free image ({share})"
    fn = tmp_path/'batch.png'
    fig.savefig(fn, dpi=60)
    plt.close(fig)
    with Image.open(fn) as im: assert im.format == 'PNG' and im.width > 300


def test_show_results_png(sample, tmp_path):
    import segmentation_models_pytorch as smp
    from fastai.learner import Learner
    dls = SteelDataLoaders.from_path(sample, bs=2, crop=(64, 256), n_folds=4, mode='softmax', num_workers=0, valid_bs=3)
    learn = Learner(dls, smp.Unet('resnet18', encoder_weights=None, classes=dls.c))
    learn.show_results(max_n=3, shuffle=False)
    fig = plt.gcf()
    axs = [a for a in fig.axes if a.images]
    assert len(axs) == 6
    assert [a.get_title() for a in axs] == ['target', 'prediction']*3
    truth = [dls.valid_ds[i][1] for i in range(3)]
    for ax, m in zip(axs[0::2], truth):
        assert (coloured_share(fig, ax) > 0) == bool(m.sum() > 0)
    fn = tmp_path/'results.png'
    fig.savefig(fn, dpi=60)
    plt.close(fig)
    with Image.open(fn) as im: assert im.format == 'PNG'


def test_check_dataset_reports_every_problem(sample, tmp_path):
    bad = tmp_path/'bad'
    shutil.copytree(sample, bad)
    labels = read_labels(bad)
    named = labels.ImageId[(labels[classes(labels)] != '').any(axis=1)].tolist()
    gone, cut, wrong = named[:3]
    (bad/'train_images'/gone).unlink()
    data = (bad/'train_images'/cut).read_bytes()
    (bad/'train_images'/cut).write_bytes(data[:len(data)//3])
    csv = pd.read_csv(bad/'train.csv')
    csv.loc[csv.ImageId == wrong, 'EncodedPixels'] = f'{256*1600 - 5} 10'
    csv.to_csv(bad/'train.csv', index=False)
    probs = check_dataset(bad, progress=False)
    assert sorted(zip(probs.problem, probs.ImageId)) == sorted([('missing', gone), ('unreadable', cut), ('rle', wrong)])
    for p, img in zip(probs.problem, probs.ImageId): assert img in probs.message[probs.ImageId == img].iloc[0]
    with pytest.raises(ValueError, match=cut):
        SteelDataLoaders.from_path(bad, check=True)
