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
