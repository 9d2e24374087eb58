"Distributed training on 2 CPU processes (gloo): the logged validation Dice covers the whole validation set."
import json, socket, subprocess, sys

import pytest

from conftest import ROOT
from dist_run import make_dls


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_processes_validate_the_whole_set(tmp_path):
    from steel_segmentation.learner import segmentation_learner
    from steel_segmentation.models import load_model
    from steel_segmentation.metrics import dice_pairs, binarize
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_addr', '127.0.0.1',
           '--master_port', str(free_port()), str(ROOT/'tests/dist_run.py'), str(tmp_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    logged = json.loads((tmp_path/'values.json').read_text())
    assert logged['world_size'] == 2

    dls = make_dls()
    n = len(dls.valid_ds)
    assert n % 2 == 1, "an odd validation set makes the shards uneven"
    model, _ = load_model(tmp_path/'model.safetensors')
    learn = segmentation_learner(dls, 'unet', 'resnet18', model=model)
    _, dice, empty, _ = learn.validate() # loss, kaggle_dice, empty_dice, tuned_dice
    assert dice == pytest.approx(logged['kaggle_dice'], abs=1e-6)
    assert empty == pytest.approx(logged['empty_dice'], abs=1e-6)

    # what the first process alone would report: its shard, the first half of the (padded) validation set
    probs, targs = learn.get_preds()
    pairs = dice_pairs(binarize(probs, 0.5), targs)
    assert pairs.mean().item() == pytest.approx(dice, abs=1e-6)
    assert abs(pairs[:(n + 1)//2].mean().item() - dice) > 1e-6, "the test could not tell one shard from the whole set"
