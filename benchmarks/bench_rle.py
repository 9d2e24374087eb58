"""RLE decode/encode speed: the implementation common in Kaggle kernels vs steel_segmentation.rle, same process.

Usage: python benchmarks/bench_rle.py [--rounds 5] [--labels PATH]
Reads the real masks of ../shared/data/severstal/labels/train_partial.csv (or --labels); without them it uses the
masks of a synthetic sample. Encoding is measured on masks in both memory orders: row-major (C order, as an array
built row by row) and column-major (F order, what decoding returns, and what a transposed prediction is). Prints
per-mask times, the speed-up ratios and whether the goals (decode >= 4x, encode >= 2x in both orders) are met.
Exits 1 if any output differs between the two implementations or a goal is missed."""
import argparse, sys, tempfile, time
from pathlib import Path

import numpy as np
import pandas as pd

from steel_segmentation.rle import rle2mask, mask2rle

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent/'shared'/'data'/'severstal'/'labels'/'train_partial.csv'


# The baseline, as found in many public Severstal kernels: decode loops over runs filling a flat array,
# encode pads the flattened column-major mask, diffs it and joins the numbers.
def kernel_rle2mask(rle, shape=(256, 1600)):
    s = rle.split()
    starts, lengths = [np.asarray(x, dtype=int) for x in (s[0::2], s[1::2])]
    starts -= 1
    ends = starts + lengths
    img = np.zeros(shape[0]*shape[1], dtype=np.uint8)
    for lo, hi in zip(starts, ends): img[lo:hi] = 1
    return img.reshape(shape, order='F')


def kernel_mask2rle(img):
    pixels = img.T.flatten()
    pixels = np.concatenate([[0], pixels, [0]])
    runs = np.where(pixels[1:] != pixels[:-1])[0] + 1
    runs[1::2] -= runs[::2]
    return ' '.join(str(x) for x in runs)


def load(labels):
    if labels and Path(labels).exists():
        df = pd.read_csv(labels)
        return df.EncodedPixels.tolist(), (256, 1600), str(labels)
    from steel_segmentation.sample import make_images
    from steel_segmentation.rle import mask2rles
    rles = [r for _, _, m in make_images(300, seed=0, p_empty=0) for r in mask2rles(m) if r]
    return rles, (256, 1600), 'synthetic sample (real labels not found)'


def timed(f, xs):
    t = time.perf_counter()
    for x in xs: f(x)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--labels', default=str(REAL))
    args = ap.parse_args()
    rles, shape, src = load(args.labels)
    print(f"{len(rles)} masks from {src}; {args.rounds} rounds, best round kept, both sides interleaved")

    ok = True
    for r in rles:
        a, b = kernel_rle2mask(r, shape), rle2mask(r, shape)
        if not np.array_equal(a, b): ok = False; print('decode differs:', r[:60])
        for c in (np.ascontiguousarray(b), np.asfortranarray(b)):
            if kernel_mask2rle(c) != r or mask2rle(c) != r: ok = False; print('encode differs:', r[:60])
    print('outputs identical:', ok)

    dec_k, dec_o = [], []
    enc = {o: ([], []) for o in ('row-major', 'column-major')}
    layout = {'row-major': np.ascontiguousarray, 'column-major': np.asfortranarray}
    chunk = 400
    for _ in range(args.rounds):
        dec_k.append(timed(lambda r: kernel_rle2mask(r, shape), rles))
        dec_o.append(timed(lambda r: rle2mask(r, shape), rles))
        for order, (k, o) in enc.items():
            ek = eo = 0.0
            for s in range(0, len(rles), chunk):
                masks = [layout[order](rle2mask(r, shape)) for r in rles[s:s+chunk]]
                ek += timed(kernel_mask2rle, masks)
                eo += timed(mask2rle, masks)
            k.append(ek); o.append(eo)

    n = len(rles)
    rd = min(dec_k)/min(dec_o)
    print(f"decode: kernel {min(dec_k)/n*1e6:7.1f} us/mask   ours {min(dec_o)/n*1e6:7.1f} us/mask   ratio {rd:5.2f}x  (goal >= 4x: {'met' if rd >= 4 else 'NOT met'})")
    good = ok and rd >= 4
    for order, (k, o) in enc.items():
        re_ = min(k)/min(o)
        good &= re_ >= 2
        print(f"encode, {order:12s}: kernel {min(k)/n*1e6:7.1f} us/mask   ours {min(o)/n*1e6:7.1f} us/mask   ratio {re_:5.2f}x  (goal >= 2x: {'met' if re_ >= 2 else 'NOT met'})")
    return 0 if good else 1


if __name__ == '__main__':
    sys.exit(main())
