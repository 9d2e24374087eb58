"Every notebook in nbs/ runs top to bottom with its inline tests (as `nbdev-test` does), each in its own process."
import subprocess, sys
from pathlib import Path

import pytest

from conftest import ROOT

NBS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))


def test_notebooks_found():
    names = [p.stem for p in NBS]
    for n in ['index', '00_core', '01_data', '02_sample', '03_eda', '04_transforms', '05_losses', '06_metrics', '07_models', '08_learner', '09_inference', '10_submission', '20_cli']: assert n in names


@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb):
    r = subprocess.run(['nbdev-test', str(nb.relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0 and 'Success' in r.stdout, f"{nb.name} failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"
