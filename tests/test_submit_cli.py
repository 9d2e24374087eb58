"`steel-submit` as a user runs it: both formats valid, and a run killed half way leaves no submission behind."
import signal, subprocess, sys, time

import pytest
import torch

from conftest import ROOT
from steel_segmentation.models import create_model, save_model, model_config
from steel_segmentation.sample import make_sample
from steel_segmentation.submission import validate_submission, read_submission

SUBMIT = [sys.executable, str(ROOT/'scripts/create_submission.py')]


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp('submit')
    torch.manual_seed(0)
    model = save_model(create_model('unet', 'resnet18', 4, pretrained=False).eval(), d/'m.safetensors',
                       model_config('seg', 'unet', 'resnet18', 4, post={'thresh': 0.5, 'min_area': 50}))
    data = make_sample(d/'data', 4, 60, (128, 800), progress=False)
    return d, data, model


def test_both_formats_valid(setup, tmp_path):
    d, data, model = setup
    for fmt in ('current', 'old'):
        out = tmp_path/f'{fmt}.csv'
        r = subprocess.run(SUBMIT + ['--data', str(data), '--models', str(model), '--tta', 'hv', '--format', fmt, '--bs', '8',
                                     '--out', str(out)], capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert r.returncode == 0, r.stderr[-3000:]
        assert str(out) in r.stdout and 'positive masks per class' in r.stdout
        assert len(validate_submission(out, data/'sample_submission.csv')) == 0
        assert len(read_submission(out)) == 4*60


def test_killed_run_leaves_no_submission(setup, tmp_path):
    d, data, model = setup
    out = tmp_path/'submission.csv'
    for previous in (False, True):
        if previous: out.write_text('ImageId,EncodedPixels,ClassId\nprevious,,1\n')
        before = out.read_text() if previous else None
        p = subprocess.Popen(SUBMIT + ['--data', str(data), '--models', str(model), '--bs', '1', '--out', str(out)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        try:
            t = time.time()
            while not any(o.name.startswith('.submission.csv.') for o in tmp_path.iterdir()):
                assert p.poll() is None and time.time() - t < 300, "the run ended before it could be killed"
                time.sleep(0.1)
            time.sleep(1.0)  # a few images written into the temporary file
            assert p.poll() is None
            p.send_signal(signal.SIGKILL)
        finally: p.wait()
        if previous: assert out.read_text() == before, "the previous submission must stay as it was"
        else: assert not out.exists(), "a killed run must not leave a submission.csv"


def test_tune_and_predict_commands(setup, tmp_path):
    import json, shutil
    from steel_segmentation.data import read_labels
    from steel_segmentation.modelfile import read_config
    d, data, model = setup
    m = tmp_path/'m.safetensors'
    cfg = read_config(model)
    save_model(__import__('steel_segmentation.models', fromlist=['load_model']).load_model(model)[0], m,
               {**cfg, 'valid_images': read_labels(data).ImageId.tolist()})
    r = subprocess.run(['steel-tune', '--data', str(data), '--models', str(m), '--threshs', '0.5 0.7', '--min-areas', '0 100 1000'],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'dice before' in r.stdout and 'validation Kaggle Dice' in r.stdout
    post = json.loads((tmp_path/'post.json').read_text())
    # every class's minimum area is a candidate or its starting value (kept as it was when the class is switched off)
    from steel_segmentation.post import post_params, OFF
    start = post_params(cfg.get('post'), 4)
    assert read_config(m)['post'] == post
    for t, ma, ma0 in zip(post['thresh'], post['min_area'], start['min_area']):
        assert ma in (0, 100, 1000, ma0) and (t < OFF or ma == ma0), (post, start)
    imgs = sorted((data/'test_images').iterdir())[:2]
    r = subprocess.run(['steel-predict', *map(str, imgs), '--model', str(m), '--out', str(tmp_path/'pred')],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted(o.name for o in (tmp_path/'pred').iterdir()) == sorted([o.stem + '.png' for o in imgs] + ['predictions.csv'])
