"`steel-train` end to end (through scripts/segmentation_train.py) on the synthetic sample, on a CPU."
import json, re, signal, subprocess, sys, time

import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from conftest import ROOT
from steel_segmentation.sample import sample_path

TRAIN = [sys.executable, str(ROOT/'scripts/segmentation_train.py')]


@pytest.fixture(scope='module')
def data():
    return sample_path(n_train=80, n_test=4, size=(128, 800))


def train(*args, timeout=900):
    r = subprocess.run(TRAIN + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def test_segmentation_beats_all_empty(data, tmp_path):
    out = tmp_path/'seg'
    # from scratch on 64 tiny images, at full scale in float32 (the synthetic defects are a few pixels thin; the CPU
    # defaults, downscaling and bfloat16, are for real images), with the recipe that learns on any CPU's kernels: crops
    # on defects half the time, classes drawn equally often, the per-pair Dice (in 12 epochs the batch's Dice leaves
    # false defects on these clean images that tuning cannot remove), smp's own decoder widths (the plan halves them on
    # a CPU) and the model of the lowest validation loss kept
    r = train('--data', data, '--arch', 'unet', '--encoder', 'resnet18', '--epochs', 12, '--bs', 8, '--crop', '128x256',
              '--loss', 'bce_pair_dice', '--decoder', 'full',
              '--lr', 3e-3, '--p-defect', 0.5, '--balanced', '--monitor', 'valid_loss', '--min-area', 60, '--scale', 1,
              '--precision', 'fp32', '--no-pretrained', '--out', out)
    for name in ('model.safetensors', 'log.csv', 'report.png'): assert str(out/name) in r.stdout
    log = pd.read_csv(out/'log.csv')
    assert log.epoch.tolist() == list(range(12))
    with safe_open(str(out/'model.safetensors'), 'pt') as f: kept = json.loads(f.metadata()['config'])['epoch']
    assert kept == int(log.valid_loss.idxmin()) and log.valid_loss.min() < 0.75*log.valid_loss.iloc[0], log.to_string()
    assert f"kept: epoch {kept}, lowest valid_loss" in r.stdout
    # the saved model with flip TTA and tuned post-processing clearly beats predicting nothing, under the default noise
    # margin (a setting that gains 2 pairs or less gives way: at most 2 pairs' Dice lost per class against the start)
    # on its validation images (the default, all 80 of a small dataset, is run by test_quality: 40 s more here)
    r = subprocess.run(['steel-tune', '--data', str(data), '--models', str(out/'model.safetensors'), '--images', 'valid'],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    before, after = map(float, re.search(r'validation Kaggle Dice: ([\d.]+) -> ([\d.]+)', r.stdout).groups())
    n = int(re.search(r"per class on (\d+) images", r.stdout).group(1))
    empty = float(re.search(r"\(predicting nothing: ([\d.]+)\)", r.stdout).group(1))
    assert after >= before - 2/n - 1e-4 and after > empty + 0.02, r.stdout
    int8_export(data, out, tmp_path)

    # a plain safetensors file, config in its metadata; load_model rebuilds the same predictions as a hand-made model
    with safe_open(str(out/'model.safetensors'), 'pt') as f: cfg = json.loads(f.metadata()['config'])
    assert (cfg['arch'], cfg['encoder'], cfg['n_classes'], cfg['task']) == ('unet', 'resnet18', 4, 'seg')
    from steel_segmentation.models import load_model, create_model
    model, _ = load_model(out/'model.safetensors')
    ref = create_model('unet', 'resnet18', 4, pretrained=False).eval()
    ref.load_state_dict(load_file(str(out/'model.safetensors')))
    x = torch.randn(2, 3, 128, 256)
    with torch.no_grad(): assert torch.equal(model(x), ref(x))


def int8_export(data, out, tmp_path):
    "The tuned model to INT8 ONNX: calibrated and checked on its validation images at the default --min-dice; its file says so; it submits"
    from steel_segmentation.modelfile import onnx_config
    from steel_segmentation.submission import validate_submission
    onnx = tmp_path/'int8.onnx'
    r = subprocess.run(['steel-export', str(out/'model.safetensors'), '--int8', '--data', str(data), '--out', str(onnx)],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    cfg = onnx_config(onnx)
    assert cfg['precision'] == 'int8' and cfg['int8']['mean_dice'] >= 0.98 and cfg['int8']['min_dice'] == 0.98
    assert f"mean Dice {cfg['int8']['mean_dice']:.4f}" in r.stdout and 'Kaggle Dice against the truth' in r.stdout
    assert cfg['post'] == onnx_config(onnx)['post'] and cfg['post']['thresh'] # the tuned post-processing travels with it
    r = subprocess.run(['steel-submit', '--data', str(data), '--models', str(onnx), '--out', str(tmp_path/'s8.csv')],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(validate_submission(tmp_path/'s8.csv', data/'sample_submission.csv')) == 0


def test_classifier_beats_majority(data, tmp_path):
    out = tmp_path/'cls'
    train('--data', data, '--task', 'cls', '--encoder', 'resnet18', '--epochs', 12, '--bs', 8, '--crop', '128x256',
          '--lr', 1e-3, '--balanced', '--scale', 1, '--precision', 'fp32', '--no-pretrained', '--no-check', '--out', out)
    log = pd.read_csv(out/'log.csv')
    assert log.accuracy.max() > log.majority_accuracy.iloc[-1] + 0.02, log.to_string()


def test_resume_after_kill(data, tmp_path):
    out = tmp_path/'res'
    args = ['--data', data, '--encoder', 'resnet18', '--epochs', 3, '--bs', 8, '--crop', '64x128', '--no-pretrained',
            '--no-check', '--schedule', 'flat_cos', '--out', out]
    p = subprocess.Popen(TRAIN + [str(a) for a in args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        t = time.time()
        while time.time() - t < 600:
            if (out/'checkpoint.pth').exists() and (out/'log.csv').exists() and len((out/'log.csv').read_text().splitlines()) >= 2: break
            assert p.poll() is None, "the run ended before it could be interrupted"
            time.sleep(0.2)
        p.send_signal(signal.SIGKILL)
    finally: p.wait()
    done = pd.read_csv(out/'log.csv').epoch.tolist()
    assert done and done[-1] < 2, done
    # restarting without --resume would overwrite the run: refused
    r = subprocess.run(TRAIN + [str(a) for a in args], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 2 and 'already holds a run' in r.stderr
    train(*args, '--resume')
    assert pd.read_csv(out/'log.csv').epoch.tolist() == [0, 1, 2]


def test_plan_prints_and_writes_nothing(data, tmp_path):
    out = tmp_path/'never'
    r = train('--data', data, '--plan', '--no-pretrained', '--bs', 4, '--balanced', 'no', '--out', out)
    assert not out.exists()
    lines = {o.split()[0]: o for o in r.stdout.splitlines() if o.strip()}
    # the fingerprint, then one line per planned value with its rule; what the user set is marked as theirs
    assert lines['images:'].startswith('images: 80, typically 128x800')
    assert 'grey' in lines['channels:']
    from steel_segmentation.recipe import PLANNED
    for k in PLANNED: assert k in lines, r.stdout
    assert lines['bs'].split()[1:] == ['4', 'set', 'by', 'the', 'user']
    assert lines['balanced'].split()[1:] == ['False', 'set', 'by', 'the', 'user']
    assert 'shorter side 128->' in lines['scale'] and lines['monitor'].split()[1] == 'tuned_dice'
    assert 'model.safetensors' not in r.stdout
