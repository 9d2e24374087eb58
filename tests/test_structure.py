"""The package's shape: thin commands, no private names across modules, one home for atomic writes, a light
inference import, notebooks that keep their (small) outputs."""
import ast, json, re, subprocess, sys

import pytest

from conftest import ROOT

PKG = ROOT/'steel_segmentation'
MODULES = sorted(p for p in PKG.glob('*.py') if p.name != '_modidx.py')
NBS = sorted((ROOT/'nbs').glob('*.ipynb'))
NB_CAP_KB = 300 # outputs of a few small figures and tables; a notebook past it is bloating the repository and the docs


def console_scripts():
    text = (ROOT/'pyproject.toml').read_text()
    block = text.split('[project.scripts]', 1)[1].split('\n[', 1)[0]
    return {k: f"{m}:{f}" for k,m,f in re.findall(r'^([\w-]+)\s*=\s*"([\w.]+):(\w+)"', block, re.M)}


def test_commands_are_thin():
    cli = PKG/'cli.py'
    # the commands only parse options and call one library function each: a cli.py growing past this holds logic that
    # belongs in the library (where it can be tested and reused)
    assert len(cli.read_text().splitlines()) < 250
    tree = ast.parse(cli.read_text())
    funcs = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    # the scripts start through `entry` (files.launch), which runs the function of the same name in cli.py
    scripts = [o.split(':')[1] for o in console_scripts().values() if o.startswith('steel_segmentation.entry:')]
    scripts = [o for o in scripts if o in funcs]
    assert len(scripts) >= 8, scripts # every command is checked: fewer found means the console scripts went unread
    for s in scripts:
        f = funcs[s]
        n = f.end_lineno - f.lineno + 1
        # a command is its signature (one line per option), a call and its printing: longer means work to move out
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
    "Renaming into place happens in files' atomic_file/atomic_dir only"
    users = [p.name for p in MODULES if re.search(r'os\.(replace|rename)\(|\.(rename|replace)\((?!columns)\w', p.read_text())]
    assert users == ['files.py'], users


def test_inference_import_is_light():
    code = ("import sys; from steel_segmentation.predictor import Predictor, OnnxPredictor, load_predictor; "
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


def package_imports(p):
    "The package's modules that module `p` imports, at the top or inside functions"
    deps = set()
    for node in ast.walk(ast.parse(p.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level: deps |= {mod.split('.')[0]} if mod else {a.name for a in node.names}
            elif mod == 'steel_segmentation': deps |= {a.name for a in node.names}
            elif mod.startswith('steel_segmentation.'): deps.add(mod.split('.')[1])
        elif isinstance(node, ast.Import):
            deps |= {a.name.split('.')[1] for a in node.names if a.name.startswith('steel_segmentation.')}
    return deps - {p.stem}


def find_cycle(graph):
    "One import cycle of `graph` (module -> modules it imports) as a list, or None"
    state, stack = {}, []
    def visit(m):
        state[m] = 'open'; stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 'open': return stack[stack.index(d):] + [d]
            if d not in state and (c := visit(d)): return c
        state[m] = 'done'; stack.pop()
    for m in sorted(graph):
        if m not in state and (c := visit(m)): return c


def test_find_cycle_finds_one():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


def test_no_import_cycle():
    graph = {p.stem: package_imports(p) for p in MODULES if p.name != '__init__.py'}
    assert find_cycle(graph) is None, ' -> '.join(find_cycle(graph))
    assert 'onnx' not in graph['predictor'] and 'predictor' in graph['onnx'], (graph['predictor'], graph['onnx'])
    assert not graph['files'], graph['files']


def test_modules_are_small():
    sizes = {p.name: len(p.read_text().splitlines()) for p in MODULES}
    assert {k: v for k,v in sizes.items() if v > 450} == {}


def test_package_lines_are_short():
    # nbdev writes the first line of `__all__` itself, its wrap at 120 characters not counting "__all__ = "
    long = [f"{p.name}:{i}" for p in MODULES for i,l in enumerate(p.read_text().splitlines(), 1)
            if len(l) > 120 and not l.startswith('__all__ = [')]
    assert long == [], f"{len(long)} lines over 120 characters: {long[:10]}"


def test_export_cells_are_short():
    long = []
    for nb in NBS:
        for c in json.loads(nb.read_text())['cells']:
            s = ''.join(c['source'])
            if c['cell_type'] == 'code' and s.startswith('#| export') and len(s.splitlines()) > 60:
                long.append(f"{nb.name}: {c.get('id')} ({len(s.splitlines())} lines)")
    assert long == [], long


def test_scheduling_costs_name_real_tests():
    "Every unit the scheduler ranks by its seconds is a test file or a notebook that exists: a renamed one would fall back to short"
    from conftest import COST, LAST
    files = {p.stem for p in (ROOT/'tests').glob('test_*.py')}
    notebooks = {f"test_notebook[{p.stem}]" for p in (ROOT/'nbs').glob('*.ipynb')}
    assert set(COST) | {LAST} <= files | notebooks, sorted(set(COST) | {LAST} - files - notebooks)
    assert sorted(COST.values(), reverse=True) == list(COST.values()), "listed longest first, as they start"
