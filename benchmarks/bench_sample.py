"""Time to write the synthetic sample: 100 images of 256x1600 (goal: under 10 s on a 2-core machine).

Usage: python benchmarks/bench_sample.py [--n 100] [--size 256x1600]
Also prints the time to JPEG-encode the same number of images alone, measured in the same process, as the
reference the generator cannot beat."""
import argparse, io, tempfile, time
from pathlib import Path

import numpy as np
from PIL import Image

from steel_segmentation.sample import make_sample
from steel_segmentation.cli import parse_size


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=100)
    ap.add_argument('--size', default='256x1600')
    args = ap.parse_args()
    h, w = parse_size(args.size)
    n_test = args.n // 5
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        make_sample(Path(d)/'s', args.n - n_test, n_test, (h, w), progress=False)
        gen = time.perf_counter() - t
    img = Image.fromarray(np.random.default_rng(0).integers(60, 160, (h, w), dtype=np.uint8)).convert('RGB')
    t = time.perf_counter()
    for _ in range(args.n): img.save(io.BytesIO(), format='JPEG', quality=92)
    enc = time.perf_counter() - t
    print(f"make_sample: {args.n} images of {h}x{w} in {gen:.2f} s ({gen/args.n*1e3:.1f} ms/image; goal < 10 s: {'met' if gen < 10 else 'NOT met'})")
    print(f"JPEG encoding alone: {enc:.2f} s; generator / encoding = {gen/enc:.2f}")


if __name__ == '__main__':
    main()
