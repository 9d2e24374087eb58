"""Datasets that are not Severstal: images of several sizes (none a multiple of 32), one folder per class with masks
beside the images, defect-free folders, class names; the whole chain import -> train -> tune -> submit on them."""
import json, os, subprocess
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from steel_segmentation.rle import parse_rle, rle2mask
from steel_segmentation.images import image_size
from steel_segmentation.sample import make_image

SIZES = [(90, 150), (120, 200), (75, 110), (100, 100), (140, 180), (110, 70)]
NAMES = ['patch', 'pit', 'scratch'] # the folders, in sorted order: the class order of the import


def run(*args):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, timeout=900)


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    "patch/, pit/, scratch/ (a binary mask beside each image) and good/ (no masks), images of six sizes"
    src = tmp_path_factory.mktemp('any')/'src'
    rng = np.random.default_rng(0)
    for k in range(48):
        h, w = SIZES[k % len(SIZES)]
        c = k % 4
        img, m = make_image(rng, (h, w), 3, cls=None if c == 3 else c, p_empty=1., p_two=0.)
        d = src/(NAMES[c] if c < 3 else 'good')
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(d/f'img{k:03d}.jpg', quality=95)
        if c < 3: Image.fromarray((m[c]*255).astype(np.uint8)).save(d/f'img{k:03d}.png')
    return src


@pytest.fixture(scope='module')
def imported(folders, tmp_path_factory):
    dst = tmp_path_factory.mktemp('any')/'data'
    r = run('steel-import', folders, dst, '--test-size', '0.25', '--seed', '0')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'one folder per class' in r.stdout and 'in 6 sizes' in r.stdout, r.stdout
    assert 'defect-free folders (not classes): good (12 images)' in r.stdout, r.stdout
    return dst


def rles_fit_their_images(sub, folder):
    "Every row's RLE decodes at the size of its own image; returns the number of non-empty rows of each class"
    df = pd.read_csv(sub, keep_default_na=False)
    n = Counter()
    for img, cls, rle in zip(df.ImageId, df.ClassId, df.EncodedPixels):
        h, w = image_size(folder/img)
        parse_rle(rle, h*w, img)
        assert rle2mask(rle, (h, w)).shape == (h, w)
        if rle != '': n[int(cls)] += 1
    return n


def decode(rle, h, w):
    "A Kaggle RLE as a bool (H, W) mask, decoded here with numpy: 1-based run starts, pixels numbered down the columns"
    flat = np.zeros(h*w, bool)
    v = [int(o) for o in rle.split()]
    for s, n in zip(v[0::2], v[1::2]):
        assert 1 <= s and n >= 1 and s-1+n <= h*w, (rle, h, w)
        flat[s-1:s-1+n] = True
    return flat.reshape(w, h).T


def submission_rles(sub, data, n_classes):
    "{(image, class): RLE} of a submission, which must hold exactly one row per (test image, class) pair"
    df = pd.read_csv(sub, keep_default_na=False, dtype=str)
    rows = list(zip(df.ImageId, df.ClassId.astype(int)))
    pairs = [(i, c) for i in sorted(os.listdir(data/'test_images')) for c in range(1, n_classes+1)]
    assert sorted(rows) == pairs, "not one row per (test image, class) pair"
    return dict(zip(rows, df.EncodedPixels))


def dice_by_hand(pred, data, n_classes):
    "Mean Dice over every (test image, class) pair of `data` (1 where both masks are empty), from the RLEs of `pred`"
    truth = pd.read_csv(data/'test_labels.csv', keep_default_na=False, dtype=str)
    true = dict(zip(zip(truth.ImageId, truth.ClassId.astype(int)), truth.EncodedPixels))
    images = sorted(os.listdir(data/'test_images'))
    assert set(true) <= {(i, c) for i in images for c in range(1, n_classes+1)}, "truth of an unknown pair"
    dice = []
    for i in images:
        w, h = Image.open(data/'test_images'/i).size
        for c in range(1, n_classes+1):
            p, t = decode(pred.get((i, c), ''), h, w), decode(true.get((i, c), ''), h, w)
            n = int(p.sum()) + int(t.sum())
            dice.append(1. if n == 0 else 2*int((p & t).sum())/n)
    return float(np.mean(dice))


def off_classes(model):
    "The classes (1-based) that tuning switched off in a model file"
    from steel_segmentation.modelfile import read_config
    from steel_segmentation.post import OFF
    return {c for c, t in enumerate(read_config(model)['post']['thresh'], 1) if t >= OFF}


def test_mixed_sizes_train_tune_predict_submit(imported, tmp_path):
    "Images of six sizes: training pads the small ones, validation batches by size, tuning, prediction and the submission each at its own size"
    from steel_segmentation.data import read_labels, class_names
    from steel_segmentation.modelfile import read_config
    from steel_segmentation.submission import validate_submission, score_submission
    from steel_segmentation.eda import dataset_report
    labels = read_labels(imported)
    assert class_names(labels) == NAMES and len(labels.attrs['sizes']) > 0
    assert dataset_report(labels, imported, tmp_path/'data.png').read_bytes()[:4] == b'\x89PNG' # with the size plot
    run_dir = tmp_path/'run'
    r = run('steel-train', '--data', imported, '--encoder', 'resnet18', '--no-pretrained', '--epochs', '1', '--bs', '4',
            '--crop', '96x96', '--scale', '1', '--precision', 'fp32', '--out', run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    model = run_dir/'model.safetensors'
    cfg = read_config(model)
    assert cfg['class_names'] == NAMES
    assert not pd.read_csv(run_dir/'log.csv').kaggle_dice.isna().all()
    r = run('steel-tune', '--data', imported, '--models', model)
    assert r.returncode == 0, r.stderr[-3000:]
    assert all(n in r.stdout for n in NAMES), r.stdout  # the tuning table names the classes
    r = run('steel-submit', '--data', imported, '--models', model, '--out', tmp_path/'sub.csv')
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(validate_submission(tmp_path/'sub.csv', imported/'sample_submission.csv', 3, img_dir=imported/'test_images')) == 0
    shown = rles_fit_their_images(tmp_path/'sub.csv', imported/'test_images')
    assert not set(shown) & off_classes(model), (shown, off_classes(model))  # a class switched off predicts nothing
    truth = read_labels(imported, 'test_labels.csv', 'test_images')
    by_hand = dice_by_hand(submission_rles(tmp_path/'sub.csv', imported, 3), imported, 3)
    assert score_submission(tmp_path/'sub.csv', truth) == pytest.approx(by_hand, abs=1e-9)
    # every class on, whatever tuning chose: masks to decode at each image's own size and to score pixel by pixel
    (tmp_path/'on.json').write_text(json.dumps({'thresh': 0.2, 'min_area': 0}))
    r = run('steel-submit', '--data', imported, '--models', model, '--post', tmp_path/'on.json',
            '--out', tmp_path/'on.csv')
    assert r.returncode == 0, r.stderr[-3000:]
    assert sum(rles_fit_their_images(tmp_path/'on.csv', imported/'test_images').values()) >= 1
    by_hand = dice_by_hand(submission_rles(tmp_path/'on.csv', imported, 3), imported, 3)
    assert score_submission(tmp_path/'on.csv', truth) == pytest.approx(by_hand, abs=1e-9)
    imgs = sorted((imported/'test_images').iterdir())[:3]
    assert len({image_size(o) for o in imgs}) > 1
    r = run('steel-predict', *imgs, '--model', model, '--post', tmp_path/'on.json', '--out', tmp_path/'pred')
    assert r.returncode == 0, r.stderr[-3000:]
    for o in imgs: assert Image.open(tmp_path/'pred'/f'{o.stem}.png').size[::-1] == image_size(o)
    assert sum(rles_fit_their_images(tmp_path/'pred'/'predictions.csv', imported/'test_images').values()) >= 1


def test_resize_option(imported, tmp_path):
    "--resize HxW: every image resized to one size for training and prediction; predictions come back at each image's size"
    from steel_segmentation.modelfile import read_config
    from steel_segmentation.predictor import Predictor, predict_files
    run_dir = tmp_path/'run'
    r = run('steel-train', '--data', imported, '--encoder', 'resnet18', '--no-pretrained', '--epochs', '1', '--bs', '4',
            '--resize', '96x128', '--precision', 'fp32', '--out', run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    assert read_config(run_dir/'model.safetensors')['resize'] == [96, 128]
    fns = sorted((imported/'test_images').iterdir())
    for name, m in predict_files(Predictor([run_dir/'model.safetensors']), fns, bs=4, progress=False):
        assert m.shape[1:] == image_size(imported/'test_images'/name)
    r = run('steel-train', '--data', imported, '--no-pretrained', '--epochs', '1', '--resize', '100x128', '--out', tmp_path/'bad')
    assert r.returncode == 2 and 'resize (100, 128) must be two positive multiples of 32' in r.stderr, r.stderr


def test_magnetic_tile_chain(magnetic, tmp_path):
    "The real magnetic tile folders: import (seeded test split) -> a short training (2 epochs) -> tune -> submit -> score"
    from steel_segmentation.data import read_labels, classes
    from steel_segmentation.submission import validate_submission, score_submission
    dst = tmp_path/'mt'
    r = run('steel-import', magnetic, dst, '--test-size', '0.2', '--seed', '0')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'defect-free folders (not classes): MT_Free (100 images)' in r.stdout and 'MT_Uneven (4)' in r.stdout, r.stdout
    model = tmp_path/'run'/'model.safetensors'
    r = run('steel-train', '--data', dst, '--encoder', 'resnet18', '--no-pretrained', '--epochs', '2', '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr[-3000:]
    # the validation images only: tuning on all 394 (the default under 200 million labelled pixels, run by
    # test_quality) would add a minute and a half here
    r = run('steel-tune', '--data', dst, '--models', model, '--images', 'valid')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'MT_Blowhole' in r.stdout and 'validation Kaggle Dice' in r.stdout
    r = run('steel-submit', '--data', dst, '--models', model, '--out', tmp_path/'sub.csv')
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(validate_submission(tmp_path/'sub.csv', dst/'sample_submission.csv', 5, img_dir=dst/'test_images')) == 0
    shown = rles_fit_their_images(tmp_path/'sub.csv', dst/'test_images')
    assert not set(shown) & off_classes(model), (shown, off_classes(model))  # a class switched off predicts nothing
    truth = read_labels(dst, 'test_labels.csv', 'test_images')
    pairs = len(truth)*5
    empty = dice_by_hand({}, dst, 5)
    assert empty == pytest.approx(float((truth[classes(truth)] == '').to_numpy().mean()), abs=1e-9)
    score = score_submission(tmp_path/'sub.csv', truth)
    assert score == pytest.approx(dice_by_hand(submission_rles(tmp_path/'sub.csv', dst, 5), dst, 5), abs=1e-9)
    print(f"magnetic tile, short run: {score:.4f} (all-empty {empty:.4f}, {pairs} pairs)")
    # two epochs need not beat predicting nothing, but tuning keeps a class on only when it gains on the validation
    # images: on the test images that may cost a few pairs by chance, not 10 pairs' worth of Dice
    assert score >= empty - 10/pairs, (score, empty)
    # the same model with every class on: real masks, scored the same way by the library and by hand
    (tmp_path/'on.json').write_text(json.dumps({'thresh': 0.3}))
    r = run('steel-submit', '--data', dst, '--models', model, '--post', tmp_path/'on.json', '--tta', 'none',
            '--out', tmp_path/'on.csv')
    assert r.returncode == 0, r.stderr[-3000:]
    assert sum(rles_fit_their_images(tmp_path/'on.csv', dst/'test_images').values()) >= 1
    by_hand = dice_by_hand(submission_rles(tmp_path/'on.csv', dst, 5), dst, 5)
    assert score_submission(tmp_path/'on.csv', truth) == pytest.approx(by_hand, abs=1e-9)
