"steel-sample and steel-demo as a user runs them: console scripts in a subprocess."
import subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd

from steel_segmentation.data import read_labels, get_masks
from steel_segmentation.download import check_layout
from steel_segmentation.sample import make_images


def run(*args, cwd=None, env=None):
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=900, env=env)


def test_steel_sample_writes_the_kaggle_layout(tmp_path):
    r = run('steel-sample', 'sample', '--n-train', '20', '--n-test', '5', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    p = tmp_path/'sample'
    check_layout(p)
    assert sorted(o.name for o in p.iterdir()) == ['sample_submission.csv', 'test_images', 'test_labels.csv',
                                                   'train.csv', 'train_images']
    assert len(list((p/'train_images').iterdir())) == 20 and len(list((p/'test_images').iterdir())) == 5
    for o in ['train.csv', 'test_labels.csv', 'sample_submission.csv']: assert str(Path('sample')/o) in r.stdout
    assert list(pd.read_csv(p/'train.csv').columns) == ['ImageId', 'ClassId', 'EncodedPixels']
    sub = pd.read_csv(p/'sample_submission.csv')
    assert list(sub.columns) == ['ImageId', 'EncodedPixels', 'ClassId'] and len(sub) == 5

    # read back: exactly the masks the generator made, for train and test
    gen = {name: msk for name, _, msk in make_images(25, (256, 1600), 4, seed=0)}
    train = read_labels(p)
    test = read_labels(p, 'test_labels.csv', 'test_images', n_classes=4)
    assert sorted(train.ImageId) + sorted(test.ImageId) != [] and set(train.ImageId) | set(test.ImageId) == set(gen)
    n_masks = 0
    for tab in (train, test):
        for i in range(len(tab)):
            m = get_masks(tab, i)
            assert np.array_equal(m, gen[tab.ImageId[i]])
            n_masks += int(m.reshape(4, -1).any(1).sum())
    assert n_masks > 0
    assert (train[['1', '2', '3', '4']] == '').all(axis=1).any(), "expected some defect-free images"


def test_steel_sample_options_and_errors(tmp_path):
    r = run('steel-sample', str(tmp_path/'s'), '--n-train', '6', '--n-test', '2', '--size', '64x256', '--n-classes', '3', '--seed', '7')
    assert r.returncode == 0, r.stderr
    labels = read_labels(tmp_path/'s')
    assert labels.attrs['shape'] == (64, 256) and len(labels) == 6
    assert run('steel-sample', str(tmp_path/'s')).returncode == 2
    r = run('steel-sample', str(tmp_path/'t'), '--size', '64by256')
    assert r.returncode == 2 and "size '64by256' is not HxW" in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path/'t').exists()


def test_steel_demo(tmp_path):
    """The README's first command with its defaults, on AVX2 kernels (the CPUs without AVX-512, where float32 reductions
    round differently): train, tune, submit, score; the submission beats predicting nothing by a margin, the last line
    says so, and the folder keeps only what a finished run needs"""
    import re
    from conftest import user_env
    env = {**user_env(), 'ATEN_CPU_CAPABILITY': 'avx2', 'ONEDNN_MAX_CPU_ISA': 'AVX2'}
    # the variables do switch the kernels (on a CPU that has AVX2 or better): ATen's dispatch says AVX2, and oneDNN no
    # longer offers native bfloat16, so the demo trains in float32
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability(), torch.ops.mkldnn._is_mkldnn_bf16_supported())"
    if run(sys.executable, '-c', probe).stdout.split()[:1] in (['AVX2'], ['AVX512']):
        forced = run(sys.executable, '-c', probe, env=env)
        assert forced.stdout.split() == ['AVX2', 'False'], forced.stdout + forced.stderr
    r = run('steel-demo', '--out', str(tmp_path/'demo'), env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path/'demo'
    for name in ('report.png', 'data.png', 'seg/report.png', 'cls/report.png'):
        assert (out/name).read_bytes()[:4] == b'\x89PNG' and str(out/name) in r.stdout
    assert (out/'submission.csv').exists() and 'defect-free' in r.stdout
    score, empty = map(float, re.search(r"test images: ([0-9.]+) \(all-empty baseline ([0-9.]+)\)", r.stdout).groups())
    assert score >= empty + 0.03, r.stdout[-3000:]
    last = r.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"The submission beats predicting nothing by ([0-9.]+) \(([0-9.]+) vs ([0-9.]+)\)", last)
    assert m and abs(float(m.group(1)) - (score - empty)) < 2e-4 and (float(m.group(2)), float(m.group(3))) == (score, empty), last
    assert not list(out.rglob('checkpoint.pth'))
    size = sum(o.stat().st_size for o in out.rglob('*') if o.is_file())
    assert size < 100*2**20, f"{size/2**20:.0f} MB"
