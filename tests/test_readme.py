"""README.md is index.ipynb rendered to Markdown; the two commands it opens with are the ones CI runs.

`python tests/test_readme.py` rewrites README.md from nbs/index.ipynb (the docs tool that would do it needs quarto)."""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render(nb=ROOT/'nbs'/'index.ipynb'):
    "Markdown of a notebook: markdown cells as they are, code cells fenced, no outputs"
    cells = json.loads(Path(nb).read_text())['cells']
    out = []
    for c in cells:
        src = ''.join(c['source']).strip()
        if not src or src.startswith('#| hide'): continue
        out.append(src if c['cell_type'] == 'markdown' else f"```python\n{src}\n```")
    return '\n\n'.join(out) + '\n'


def commands(md):
    return re.findall(r'```sh\n(.+?)\n```', md)


def test_readme_matches_index():
    assert (ROOT/'README.md').read_text() == render(), "README.md is stale: run `python tests/test_readme.py`"


def test_readme_opens_with_two_commands():
    md = (ROOT/'README.md').read_text()
    cmds = commands(md)
    assert len(cmds) == 2
    first_code = md.index('```')
    assert md.index('```sh') == first_code
    assert 'steel-demo' in cmds[0] and 'pytest' in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT/'.ci'/'run').read_text()
    assert commands((ROOT/'README.md').read_text())[1] in ci.splitlines()


if __name__ == '__main__':
    (ROOT/'README.md').write_text(render())
    print(ROOT/'README.md')
