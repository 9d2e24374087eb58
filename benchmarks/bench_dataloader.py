"""Training DataLoader throughput against bare PIL decoding of the same files (goal: ratio >= 0.75 with one worker).

Usage: python benchmarks/bench_dataloader.py [--n 120] [--bs 8] [--crop 256x512] [--rounds 3] [--mixed 2000]

The DataLoader does everything a training epoch needs: decode, RLE -> masks, crop (half of them centred on a
defect), flips, lighting, normalisation and collation. The baseline only decodes each file with PIL to an RGB
array. Both run in this process, interleaved, best round of each; the ratio is images/s of the DataLoader over
images/s of the baseline. The DataLoader is built as `steel-train` builds it, after the dataset's check, so grey
images (the sample's, as Severstal's) are decoded as their luma plane alone. Also printed: the DataLoader with 2 worker processes, and with the JPEG fast path
switched off (PIL decoding inside the DataLoader too).

With --mixed N (0 to skip), a second dataset of N small PNGs of many sizes (64 to 99 px a side, half with a mask):
the same ratio to bare PIL, and the DataLoader once more with the per-image sizes in the table's attrs as a plain
dict, which pandas deep-copies into every row the DataLoader reads (the cost `data.SharedDict` removes; it grows
with the square of the number of images)."""
import argparse, sys, tempfile, time
from pathlib import Path

import numpy as np
from PIL import Image

import steel_segmentation.images as C
import steel_segmentation.data as D
import steel_segmentation.dataloaders as T
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


def best_rates(rounds, **runs):
    "The best rate of each run (a function returning images/s), the runs interleaved round by round"
    res = {k: [] for k in runs}
    for _ in range(rounds):
        for k, f in runs.items(): res[k].append(f())
    return {k: max(v) for k, v in res.items()}


def without_fast_path(dl):
    "The DataLoader's rate with PIL decoding JPEGs too"
    fast, C.simplejpeg = C.simplejpeg, None
    try: return dl_rate(dl)
    finally: C.simplejpeg = fast


def mixed_sizes(folder, n):
    "N images of sizes 64..99 px a side, every other one with a 10-pixel mask of class 1"
    rng = np.random.default_rng(0)
    (folder/'train_images').mkdir(parents=True)
    rows = ['ImageId,ClassId,EncodedPixels']
    for i in range(n):
        h, w = rng.integers(64, 100, 2)
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder/'train_images'/f'{i:05d}.png')
        if i % 2: rows.append(f'{i:05d}.png,1,{w*5 + 3} 10')
    (folder/'train.csv').write_text('\n'.join(rows) + '\n')


def bench_mixed(n, bs, rounds):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d)/'mixed'
        mixed_sizes(path, n)
        labels = D.read_labels(path)
        assert isinstance(labels.attrs['sizes'], D.SharedDict)
        kw = dict(bs=bs, crop=(64, 64), p_defect=0.5, num_workers=0)
        dls = T.SteelDataLoaders.from_labels(labels, path/'train_images', **kw)
        labels = labels.copy()
        labels.attrs['sizes'] = dict(labels.attrs['sizes']) # as a plain dict, as before SharedDict
        plain = T.SteelDataLoaders.from_labels(labels, path/'train_images', **kw)
        fns = [path/'train_images'/o for o in dls.labels.ImageId[dls.folds != 0]]
        best = best_rates(rounds, pil=lambda: pil_rate(fns), dl=lambda: dl_rate(dls.train), plain=lambda: dl_rate(plain.train))
        print(f"{len(dls.labels)} images of {len(set(dls.labels.attrs['sizes'].values())) + 1} sizes ({len(fns)} in the training fold), crop 64x64, bs {bs}, best of {rounds} rounds")
        print(f"  bare PIL decode           {best['pil']:7.1f} img/s")
        print(f"  DataLoader, 1 process     {best['dl']:7.1f} img/s   ratio {best['dl']/best['pil']:.2f}")
        print(f"  the same, sizes as a dict {best['plain']:7.1f} img/s   ratio {best['plain']/best['pil']:.2f}  "
              f"(SharedDict {best['dl']/best['plain']:.1f}x faster)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=120, help='training images in the sample (80%% are the training fold)')
    ap.add_argument('--bs', type=int, default=8)
    ap.add_argument('--crop', default='256x512')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--mixed', type=int, default=2000, help='images of the mixed-size dataset (0: skip it)')
    args = ap.parse_args()
    path = sample_path(n_train=args.n, n_test=10)
    kw = dict(bs=args.bs, crop=parse_size(args.crop), p_defect=0.5)
    # as steel-train builds it: after the dataset's check, which finds the images grey (luma planes decoded alone)
    labels = D.load_dataset(path, progress=False)
    dls = {w: T.SteelDataLoaders.from_labels(labels, path/'train_images', num_workers=w, **kw) for w in (0, 2)}
    fns = [path/'train_images'/o for o in dls[0].labels.ImageId[dls[0].folds != 0]]
    fast = C.simplejpeg
    best = best_rates(args.rounds, pil=lambda: pil_rate(fns), dl=lambda: dl_rate(dls[0].train), dl2=lambda: dl_rate(dls[2].train),
                      dl_pil=lambda: without_fast_path(dls[0].train))
    print(f"{len(fns)} images of {dls[0].labels.attrs['shape'][0]}x{dls[0].labels.attrs['shape'][1]}, crop {args.crop}, bs {args.bs}, "
          f"best of {args.rounds} rounds (JPEG fast path: {'simplejpeg' if fast else 'not installed'}; "
          f"{'luma planes only: the images are grey' if dls[0].luma else 'all channels decoded'})")
    print(f"  bare PIL decode           {best['pil']:7.1f} img/s")
    print(f"  DataLoader, 1 process     {best['dl']:7.1f} img/s   ratio {best['dl']/best['pil']:.2f}  (goal >= 0.75)")
    print(f"  DataLoader, 2 workers     {best['dl2']:7.1f} img/s   ratio {best['dl2']/best['pil']:.2f}")
    print(f"  DataLoader, PIL decoding  {best['dl_pil']:7.1f} img/s   ratio {best['dl_pil']/best['pil']:.2f}")
    ok = best['dl']/best['pil'] >= 0.75
    if not ok: print("goal missed: the one-process DataLoader is below 0.75 of bare PIL decoding")
    if args.mixed: bench_mixed(args.mixed, args.bs, args.rounds)
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
