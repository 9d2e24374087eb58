"""Peak memory of `steel-submit` on 200 test images vs 50 (goal: ratio <= 1.1): prediction is streamed.

Usage: python benchmarks/bench_submit_memory.py [--small 50] [--large 200] [--size 128x800] [--bs 8]

Each run is a fresh `steel-submit` process, started from a small launcher process that reports the peak resident set
size of its child (`ru_maxrss`). Images are 128x800 by default so the 200-image run takes about a minute here; the
memory a batch needs grows with the image size, not with the number of images."""
import argparse, subprocess, sys, tempfile
from pathlib import Path

import torch

from steel_segmentation.cli import parse_size
from steel_segmentation.models import create_model, save_model, model_config
from steel_segmentation.sample import make_sample

LAUNCH = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
          "sys.stderr.write(r.stderr[-2000:]) if r.returncode else None; "
          "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else -1)")


def peak_kb(cmd:list, what:str)->int:
    "Peak resident set size (kB) of the command `cmd`, run in a fresh process"
    r = subprocess.run([sys.executable, '-c', LAUNCH, *cmd], capture_output=True, text=True)
    kb = int(r.stdout.strip().splitlines()[-1])
    if kb < 0: raise SystemExit(f"{what} failed:\n{r.stderr}")
    return kb


def submit_cmd(data, model, out, bs)->list:
    return [sys.executable, str(Path(__file__).resolve().parents[1]/'scripts/create_submission.py'),
            '--data', str(data), '--models', str(model), '--bs', str(bs), '--out', str(out)]


def compare(doc:str, what:str, cmd):
    "Peak memory of `what` (`cmd(data, model, out, bs)`) on a large vs a small number of images, as a ratio"
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument('--small', type=int, default=50)
    ap.add_argument('--large', type=int, default=200)
    ap.add_argument('--size', default='128x800')
    ap.add_argument('--bs', type=int, default=8)
    args = ap.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        model = save_model(create_model('unet', 'resnet18', 4, pretrained=False).eval(), d/'m.safetensors',
                           model_config('seg', 'unet', 'resnet18', 4, post={'thresh': 0.5, 'min_area': 100}))
        res = {}
        for n in (args.small, args.large):
            data = make_sample(d/f'data{n}', 4, n, parse_size(args.size), progress=False)
            res[n] = peak_kb(cmd(data, model, d/f'out{n}', args.bs), what)
    ratio = res[args.large]/res[args.small]
    print(f"{what} peak RSS, images of {args.size}, batch {args.bs}:")
    print(f"  {args.small:4d} images  {res[args.small]/1024:8.1f} MB")
    print(f"  {args.large:4d} images  {res[args.large]/1024:8.1f} MB")
    print(f"  ratio {ratio:.3f}  (goal <= 1.1)")
    return 0 if ratio <= 1.1 else 1


if __name__ == '__main__': sys.exit(compare(__doc__, 'steel-submit', submit_cmd))
