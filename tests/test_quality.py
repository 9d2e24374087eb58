"""What training logs is what a submission scores, on images whose size is not a multiple of 32; and every command's
defaults work on a 3-class dataset of 200x200 images."""
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch

from steel_segmentation.sample import make_sample


@pytest.fixture(scope='module')
def data200(tmp_path_factory):
    return make_sample(tmp_path_factory.mktemp('q')/'s200', n_train=24, n_test=6, size=(200, 200), n_classes=3, progress=False)


def test_logged_dice_equals_predictor_score(data200, tmp_path):
    "200x200 images are padded to 224 for the model; the log must score the 200x200 pixels, as Predictor does"
    from fastai.torch_core import set_seed
    from steel_segmentation.data import read_labels, get_masks
    from steel_segmentation.dataloaders import SteelDataLoaders
    from steel_segmentation.learner import segmentation_learner
    from steel_segmentation.fit import fit_steel
    from steel_segmentation.predictor import Predictor, predict_files
    from steel_segmentation.metrics import dice_pairs
    from steel_segmentation.modelfile import read_config
    set_seed(0)
    dls = SteelDataLoaders.from_path(data200, bs=4, crop=(96, 96), n_folds=4, valid_bs=3)
    learn = segmentation_learner(dls, 'unet', 'resnet18', pretrained=False, out=tmp_path, thresh=0.4, min_area=30,
                                 monitor='kaggle_dice') # the model of the best logged kaggle_dice is kept
    fit_steel(learn, 2, 3e-3)
    fn = tmp_path/'model.safetensors'
    cfg = read_config(fn)
    logged = pd.read_csv(tmp_path/'log.csv').kaggle_dice
    assert cfg['kaggle_dice'] == pytest.approx(logged.max(), abs=1e-6)

    labels = read_labels(data200)
    pos = {o: i for i, o in enumerate(labels.ImageId)}
    valid = cfg['valid_images']
    pred = Predictor([fn])
    assert pred.post['thresh'] == [0.4]*3 and pred.post['min_area'] == [30.]*3
    masks = dict(predict_files(pred, [data200/'train_images'/o for o in valid], bs=3, progress=False))
    got = np.stack([masks[o] for o in valid])
    truth = np.stack([get_masks(labels, pos[o]) for o in valid])
    assert got.shape[-2:] == (200, 200)
    assert got.any(), "the model predicts some defect pixels, or the comparison would be trivial"
    assert dice_pairs(torch.from_numpy(got), torch.from_numpy(truth)).mean().item() == pytest.approx(cfg['kaggle_dice'], abs=1e-6)


def run(*args, cwd=None):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, cwd=cwd, timeout=900)


def test_commands_with_defaults_on_3_classes_of_200x200(data200, tmp_path):
    "steel-train (one epoch), steel-tune and steel-submit with their defaults: no Severstal number gets in the way"
    from steel_segmentation.submission import validate_submission, read_submission
    r = run('steel-train', '--data', data200, '--encoder', 'resnet18', '--no-pretrained', '--epochs', '1', '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr[-3000:]
    model = tmp_path/'run'/'model.safetensors'
    r = run('steel-tune', '--data', data200, '--models', model)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'Kaggle Dice on all' in r.stdout and 're-weighted' not in r.stdout
    r = run('steel-tune', '--data', data200, '--models', model, '--mix', 'lb')
    assert r.returncode == 2 and 'the mix needs the empty pairs then 3 positive counts, got 5 numbers' in r.stderr
    # a sample submission whose placeholder says nothing about the image size
    sample = data200/'sample_submission.csv'
    names = pd.read_csv(sample).ImageId.unique()
    pd.DataFrame({'ImageId': np.repeat(names, 3), 'EncodedPixels': '1 1', 'ClassId': np.tile([1, 2, 3], len(names))}).to_csv(
        tmp_path/'sample.csv', index=False)
    (tmp_path/'test_images').symlink_to(data200/'test_images')
    r = run('steel-submit', '--data', tmp_path, '--models', model, '--sample', 'sample.csv', '--out', tmp_path/'sub.csv')
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(validate_submission(tmp_path/'sub.csv', tmp_path/'sample.csv', 3, img_dir=data200/'test_images')) == 0
    assert len(read_submission(tmp_path/'sub.csv')) == 3*len(names)
