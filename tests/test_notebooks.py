"""Every notebook in nbs/ runs top to bottom with its inline tests (as `nbdev-test` does), each in its own process;
notebooks with cells marked `#| slow` run a second time with them (`nbdev-test --flags slow`).

The notebooks write their examples under `tempfile.mkdtemp()`; here TMPDIR points into the test's own temporary
folder, so that pytest removes them with its old runs (a training notebook leaves over a gigabyte of checkpoints)."""
import json, os, subprocess

import pytest

from conftest import ROOT

NBS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))


def has_slow(nb):
    return any(c['cell_type'] == 'code' and ''.join(c['source']).lstrip().startswith('#| slow') for c in json.loads(nb.read_text())['cells'])


SLOW = [p for p in NBS if has_slow(p)]


def test_notebooks_found():
    names = [p.stem for p in NBS]
    for n in ['index', '00_files', '00b_rle', '00c_images', '01_data', '01b_importer', '02_sample', '03_eda', '04_transforms',
              '04b_dataloaders', '05_losses', '06_metrics', '06b_modelfile', '07_models', '07c_callbacks', '08_learner', '08a_fit',
              '08b_train', '09_predictor', '09b_tuning', '10_submission', '11_onnx', '12_app', '19_demo', '20_cli']:
        assert n in names
    assert SLOW, "some notebook marks its long cells #| slow"


def nbdev_test(nb, tmp, *flags):
    env = {**os.environ, 'TMPDIR': str(tmp)}
    r = subprocess.run(['nbdev-test', *flags, str(nb.relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True, timeout=1500, env=env)
    assert r.returncode == 0 and 'Success' in r.stdout, f"{nb.name} failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"


@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb, tmp_path): nbdev_test(nb, tmp_path)


@pytest.mark.parametrize('nb', SLOW, ids=[p.stem for p in SLOW])
def test_notebook_slow_cells(nb, tmp_path): nbdev_test(nb, tmp_path, '--flags', 'slow')
