"""The package's shape: thin commands, no private names across modules, one home for atomic writes, a light
inference import, notebooks that keep their (small) outputs."""
import ast, json, re, subprocess, sys

import pytest

from conftest import ROOT

PKG = ROOT/'steel_segmentation'
MODULES = sorted(p for p in PKG.glob('*.py') if p.name != '_modidx.py')
NBS = sorted((ROOT/'nbs').glob('*.ipynb'))
NB_CAP_KB = 300


def console_scripts():
    text = (ROOT/'pyproject.toml').read_text()
    block = text.split('[project.scripts]', 1)[1].split('\n[', 1)[0]
    return {k: f"{m}:{f}" for k,m,f in re.findall(r'^([\w-]+)\s*=\s*"([\w.]+):(\w+)"', block, re.M)}


def test_commands_are_thin():
    cli = PKG/'cli.py'
    assert len(cli.read_text().splitlines()) < 250
    tree = ast.parse(cli.read_text())
    funcs = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    scripts = [o for o in console_scripts().values() if o.startswith('steel_segmentation.cli:')]
    assert len(scripts) >= 8, scripts
    for s in scripts:
        f = funcs[s.split(':')[1]]
        n = f.end_lineno - f.lineno + 1
        assert n <= 30, f"{f.name} is {n} lines"


def test_no_private_name_crosses_modules():
    crossing = []
    for p in MODULES:
        for node in ast.walk(ast.parse(p.read_text())):
            # absolute or relative imports of the package; a public name imported under a private alias counts too
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith('steel_segmentation')):
                crossing += [f"{p.name}: {node.module}.{a.name}" for a in node.names
                             if a.name.startswith('_') or (a.asname or '').startswith('_')]
    assert crossing == [], crossing


def test_one_atomic_write_helper():
    "Renaming into place happens in core's atomic_file/atomic_dir only"
    users = [p.name for p in MODULES if re.search(r'os\.(replace|rename)\(|\.(rename|replace)\((?!columns)\w', p.read_text())]
    assert users == ['core.py'], users


def test_inference_import_is_light():
    code = ("import sys; from steel_segmentation.inference import Predictor; "
            "print(sorted(m for m in sys.modules if m.startswith('fastai')))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '[]', r.stdout


@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook_keeps_small_outputs(nb):
    size = nb.stat().st_size/1024
    assert size <= NB_CAP_KB, f"{nb.name} is {size:.0f} KB (cap {NB_CAP_KB} KB): shrink its figures or tables"
    cells = json.loads(nb.read_text())['cells']
    lessons = [c for c in cells if c['cell_type'] == 'code' and not ''.join(c['source']).lstrip().startswith(('#| export', '#| hide', '#|export', '#|hide'))]
    if lessons: assert any(c.get('outputs') for c in lessons), f"{nb.name}: no lesson cell keeps its output (run scripts/run_notebooks.py)"
