"Kaggle download and unpacking: clear errors and nothing half-extracted (Kaggle is unreachable here)."
import os, shutil, subprocess, zipfile

import pytest

from steel_segmentation.data import read_labels
from steel_segmentation.download import unpack_competition, check_layout
from steel_segmentation.sample import make_sample


def kaggle_env(tmp_path, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith('KAGGLE_')}
    env.update(HOME=str(tmp_path/'home'), KAGGLE_CONFIG_DIR=str(tmp_path/'cfg'), **kw)
    return env


def test_no_credentials(tmp_path):
    r = subprocess.run(['steel-download', str(tmp_path/'dl')], env=kaggle_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert 'kaggle.json' in r.stderr and 'rules' in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path/'dl').exists() or not any((tmp_path/'dl').iterdir())


def test_no_network(tmp_path):
    env = kaggle_env(tmp_path, KAGGLE_USERNAME='nobody', KAGGLE_KEY='0'*32)
    r = subprocess.run(['steel-download', str(tmp_path/'dl')], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert 'could not download' in r.stderr and 'Traceback' not in r.stderr
    assert not any((tmp_path/'dl').iterdir())


@pytest.fixture
def competition_zip(tmp_path):
    src = make_sample(tmp_path/'src', 4, 2, size=(32, 64), progress=False)
    fn = tmp_path/'severstal-steel-defect-detection.zip'
    with zipfile.ZipFile(fn, 'w') as z:
        for f in sorted(src.rglob('*')):
            if f.is_file(): z.write(f, f.relative_to(src))
    return fn


def test_unpack(tmp_path, competition_zip):
    dest = tmp_path/'data'
    unpack_competition(competition_zip, dest)
    check_layout(dest)
    assert len(read_labels(dest)) == 4
    assert [o.name for o in dest.iterdir() if o.name.startswith('.')] == []


def test_corrupt_archive_leaves_nothing(tmp_path, competition_zip):
    data = bytearray(competition_zip.read_bytes())
    with zipfile.ZipFile(competition_zip) as z:
        last = z.infolist()[-1]
    # flip bytes inside the last member's data: the archive opens, extraction fails on its CRC
    off = last.header_offset + 30 + len(last.filename.encode()) + len(last.extra) + 10
    data[off:off+8] = bytes(255 - b for b in data[off:off+8])
    bad = tmp_path/'bad.zip'
    bad.write_bytes(bytes(data))
    dest = tmp_path/'data'
    with pytest.raises(ValueError, match='not a valid zip'):
        unpack_competition(bad, dest)
    # no folder, no temporary left beside it
    assert not dest.exists() and not list(tmp_path.glob('.data*'))
