import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# pytest-xdist runs two tests at once on this 2-core machine: one compute thread each (and in the commands they
# start), so that the two do not fight over the cores
if os.environ.get('PYTEST_XDIST_WORKER'):
    for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(k, '1')

# What the two workers are handed, longest first (`--dist loadgroup --no-loadscope-reorder`): a test file's tests stay
# together (they share trained runs), each notebook goes on its own, and the short ones fill in at the end, so that
# neither core idles while the other finishes a long file. Seconds in a CI run on 2 cores; anything else is short.
COST = {'test_bad_inputs': 460, 'test_train_cli': 430, 'test_any_dataset': 260, 'test_export': 210,
        'test_notebook[11_onnx]': 115, 'test_notebook[09c_analysis]': 115, 'test_submit_cli': 110,
        'test_notebook[08a_fit]': 105, 'test_analyse': 75, 'test_quality': 50, 'test_app': 45,
        'test_notebook[09b_tuning]': 35, 'test_notebook[08b_train]': 30}
# ... except the demo's file, handed out last: its command runs as a user's, on both cores, and beside a training test
# on the other core it took 675 s instead of 348 (the two fight over the cores)
LAST = 'test_sample_cli'


def work_unit(item)->str:
    "What a test is scheduled with: its notebook (test_notebooks.py), else its file"
    return item.name if item.path.name == 'test_notebooks.py' else item.path.stem


@pytest.hookimpl(tryfirst=True) # before xdist names the groups
def pytest_collection_modifyitems(config, items):
    for o in items:
        if o.path.name != 'test_notebooks.py': o.add_marker(pytest.mark.xdist_group(o.path.stem))
    items.sort(key=lambda o: (work_unit(o) == LAST, -COST.get(work_unit(o), 0))) # stable: a file's tests keep their order


def user_env()->dict:
    "The environment a user's command runs in: without the one-thread cap of parallel tests (numbers depend on the thread count)"
    return {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS')}
REAL = Path(os.environ.get('STEEL_REAL_DATA', ROOT.parent/'shared'/'data'/'severstal'))


@pytest.fixture
def real():
    "The real Severstal sample beside the project; the test is skipped when it is absent"
    if not (REAL/'images_labels.csv').exists(): pytest.skip(f"real Severstal sample not found at {REAL}")
    return REAL

NEU = Path(os.environ.get('STEEL_NEU_DATA', ROOT.parent/'shared'/'data'/'neu_seg'))


@pytest.fixture
def neu():
    "The real NEU-Seg images beside the project; the test is skipped when they are absent"
    if not (NEU/'images').is_dir() or not (NEU/'masks').is_dir(): pytest.skip(f"NEU-Seg not found at {NEU}")
    return NEU

MAGNETIC = Path(os.environ.get('STEEL_MAGNETIC_DATA', ROOT.parent/'shared'/'data'/'magnetic_tile'))

@pytest.fixture
def magnetic():
    "The real magnetic tile images (one folder per class) beside the project; the test is skipped when they are absent"
    if not (MAGNETIC/'MT_Free').is_dir(): pytest.skip(f"magnetic tile data not found at {MAGNETIC}")
    return MAGNETIC


@pytest.fixture(scope='session')
def trained(tmp_path_factory):
    """A small U-Net trained by `steel-train` from scratch in float32 (the plan's encoder then: RegNetX-400MF) on a
    synthetic sample: (folder, data, model file), shared by the export and app tests"""
    import subprocess
    from steel_segmentation.sample import make_sample
    d = tmp_path_factory.mktemp('trained')
    data = make_sample(d/'data', 16, 10, (64, 320), progress=False)
    r = subprocess.run(['steel-train', '--data', str(data), '--out', str(d/'run'), '--epochs', '2', '--bs', '8', '--no-pretrained',
                        '--precision', 'fp32', '--no-check'], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    return d, data, d/'run'/'model.safetensors'
