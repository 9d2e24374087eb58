"""Run the notebooks and keep their outputs, so that the documentation pages show each lesson's table or plot.

Usage: python scripts/run_notebooks.py [NOTEBOOK ...]   (default: every notebook in nbs/)

Each notebook runs top to bottom in a fresh kernel from the nbs/ folder, as `nbdev-test` runs it (cells marked
`#| slow` included; cells marked `#| eval: false` skipped); its outputs are written back into it, then `nbdev-clean`
strips execution counts and metadata. Figures are stored as small PNGs. A notebook that fails is left unchanged.
tests/test_notebooks.py checks that no notebook grows over the size cap."""
import base64, io, os, subprocess, sys, tempfile
from pathlib import Path

from PIL import Image

from execnb.shell import CaptureShell, read_nb, write_nb

ROOT = Path(__file__).resolve().parents[1]


def skip(cell):
    src = cell.source.lstrip()
    return src.startswith('#| eval: false') or src.startswith('#|eval: false')


PNG_CAP = 60_000 # bytes of one stored figure


def shrink_png(b64):
    "A figure over the cap, as a 64-colour PNG (halved in size until under the cap): steel textures compress badly"
    img = Image.open(io.BytesIO(base64.b64decode(b64))).convert('RGB')
    while True:
        buf = io.BytesIO()
        # octree keeps small colour swatches (legends, thin masks) true, where median cut merges them into the grey
        img.quantize(64, method=Image.Quantize.FASTOCTREE).save(buf, 'PNG', optimize=True)
        if buf.tell() <= PNG_CAP or img.width < 200: return base64.b64encode(buf.getvalue()).decode()
        img = img.resize((img.width*3//4, img.height*3//4), Image.LANCZOS)


def shrink_figures(nb):
    for c in nb.cells:
        for o in c.get('outputs', []):
            png = o.get('data', {}).get('image/png')
            if png and len(png)*3//4 > PNG_CAP: o['data']['image/png'] = shrink_png(png)


def run(fn):
    nb = read_nb(fn)
    with tempfile.TemporaryDirectory(prefix='run_notebooks_') as d: # the notebook's mkdtemp() folders go, with what they hold
        old = os.environ.get('TMPDIR')
        tempfile.tempdir = os.environ['TMPDIR'] = d # in this process, and in the commands the notebook runs
        try:
            sh = CaptureShell(path=fn.parent, mpl_format='png')
            sh.run("import matplotlib.pyplot as plt; plt.rcParams['figure.dpi'] = 60")
            for c in nb.cells:
                if c.cell_type != 'code' or skip(c): continue
                sh.cell(c)
                if sh.exc: raise RuntimeError(f"{fn.name}: a cell failed:\n{c.source[:300]}\n{sh.exc}")
        finally:
            tempfile.tempdir = None
            if old is None: del os.environ['TMPDIR']
            else: os.environ['TMPDIR'] = old
    shrink_figures(nb)
    write_nb(nb, fn)


def main():
    fns = [Path(o).resolve() for o in sys.argv[1:]] or sorted((ROOT/'nbs').glob('[0-9]*.ipynb')) + [ROOT/'nbs'/'index.ipynb']
    for fn in fns:
        print(fn.name, flush=True)
        run(fn)
    subprocess.run(['nbdev-clean'], cwd=ROOT, check=True)
    for fn in fns: print(f"{fn.name}: {fn.stat().st_size/1024:.0f} KB")


if __name__ == '__main__': main()
