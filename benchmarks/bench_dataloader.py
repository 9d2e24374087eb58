"""Training DataLoader throughput against bare PIL decoding of the same files (goal: ratio >= 0.6 with one worker).

Usage: python benchmarks/bench_dataloader.py [--n 120] [--bs 8] [--crop 256x512] [--rounds 3]

The DataLoader does everything a training epoch needs: decode, RLE -> masks, crop (half of them centred on a
defect), flips, lighting, normalisation and collation. The baseline only decodes each file with PIL to an RGB
array. Both run in this process, interleaved, best round of each; the ratio is images/s of the DataLoader over
images/s of the baseline. Also printed: the DataLoader with 2 worker processes, and with the JPEG fast path
switched off (PIL decoding inside the DataLoader too)."""
import argparse, sys, time

import numpy as np
from PIL import Image

import steel_segmentation.core as C
import steel_segmentation.transforms as T
from steel_segmentation.cli import parse_size
from steel_segmentation.sample import sample_path


def pil_rate(fns):
    t = time.perf_counter()
    for fn in fns: np.asarray(Image.open(fn).convert('RGB'))
    return len(fns)/(time.perf_counter() - t)


def dl_rate(dl):
    t, n = time.perf_counter(), 0
    for xb, yb in dl: n += len(xb)
    return n/(time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=120, help='training images in the sample (80%% are the training fold)')
    ap.add_argument('--bs', type=int, default=8)
    ap.add_argument('--crop', default='256x512')
    ap.add_argument('--rounds', type=int, default=3)
    args = ap.parse_args()
    path = sample_path(n_train=args.n, n_test=10)
    kw = dict(bs=args.bs, crop=parse_size(args.crop), p_defect=0.5)
    dls = {w: T.SteelDataLoaders.from_path(path, num_workers=w, **kw) for w in (0, 2)}
    fns = [path/'train_images'/o for o in dls[0].labels.ImageId[dls[0].folds != 0]]
    fast = C.simplejpeg
    res = {k: [] for k in ('pil', 'dl', 'dl2', 'dl_pil')}
    for _ in range(args.rounds):
        res['pil'].append(pil_rate(fns))
        res['dl'].append(dl_rate(dls[0].train))
        res['dl2'].append(dl_rate(dls[2].train))
        C.simplejpeg = None
        try: res['dl_pil'].append(dl_rate(dls[0].train))
        finally: C.simplejpeg = fast
    best = {k: max(v) for k, v in res.items()}
    print(f"{len(fns)} images of {dls[0].labels.attrs['shape'][0]}x{dls[0].labels.attrs['shape'][1]}, crop {args.crop}, bs {args.bs}, "
          f"best of {args.rounds} rounds (JPEG fast path: {'simplejpeg' if fast else 'not installed'})")
    print(f"  bare PIL decode           {best['pil']:7.1f} img/s")
    print(f"  DataLoader, 1 process     {best['dl']:7.1f} img/s   ratio {best['dl']/best['pil']:.2f}  (goal >= 0.6)")
    print(f"  DataLoader, 2 workers     {best['dl2']:7.1f} img/s   ratio {best['dl2']/best['pil']:.2f}")
    print(f"  DataLoader, PIL decoding  {best['dl_pil']:7.1f} img/s   ratio {best['dl_pil']/best['pil']:.2f}")
    ok = best['dl']/best['pil'] >= 0.6
    if not ok: print("goal missed: the one-process DataLoader is below 0.6 of bare PIL decoding")
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
