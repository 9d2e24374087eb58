"""A wheel built from a clean checkout installs into a fresh virtual environment and imports there.

This is what `pip install git+URL` does. The new environment gets the package from the wheel alone; the
heavy dependencies (torch, fastai, ...) are borrowed from this interpreter's site-packages through a path
entry, which does not run that site's .pth hooks, so an editable install of the project cannot leak in."""
import shutil, subprocess, sys, sysconfig, zipfile
from pathlib import Path

from conftest import ROOT


def clean_checkout(dest):
    "Copy of the files git tracks (the working tree when it is not a git checkout)"
    r = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True)
    files = [f for f in r.stdout.decode().split('\0') if f] if r.returncode == 0 else None
    if not files:
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns('.git', '*.egg-info', 'build', 'dist', '__pycache__'))
        return dest
    for f in files:
        if (ROOT/f).is_file():
            (dest/f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT/f, dest/f)
    return dest


def test_wheel_installs_in_a_fresh_venv(tmp_path):
    src = clean_checkout(tmp_path/'src')
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-w', str(tmp_path/'dist'), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    whl, = (tmp_path/'dist').glob('steel_segmentation-*.whl')
    names = zipfile.ZipFile(whl).namelist()
    for mod in ['rle', 'images', 'files', 'data', 'sample', 'cli', '_modidx']: assert f'steel_segmentation/{mod}.py' in names
    assert not [n for n in names if n.endswith(('.jpg', '.png', '.csv', '.ipynb', '.safetensors'))], "data or notebooks in the wheel"

    venv = tmp_path/'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True, timeout=300)
    py = venv/'bin'/'python'
    r = subprocess.run([str(py), '-m', 'pip', 'install', '--no-deps', '--no-index', str(whl)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    site = Path(subprocess.run([str(py), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site/'_deps_from_host.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')

    code = ('import steel_segmentation as s, steel_segmentation.rle, steel_segmentation.images, steel_segmentation.data, steel_segmentation.sample, '
            'steel_segmentation.cli; print(s.__file__); print(s.__version__)')
    r = subprocess.run([str(py), '-c', code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.splitlines()[0].startswith(str(venv)), r.stdout
    r = subprocess.run([str(venv/'bin'/'steel-sample'), str(tmp_path/'s'), '--n-train', '3', '--n-test', '1', '--size', '32x64'],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path/'s'/'train.csv').exists()
