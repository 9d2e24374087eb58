import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
