"""ONNX Runtime vs PyTorch eager on a CPU (goal: ONNX >= 1.5x faster than eager for U-Net/resnet18).

Usage: python benchmarks/bench_onnx.py [--threads 2] [--rounds 5] [--size 256x1600] [--archs unet:resnet18,fpn:resnet34]

Both sides are the project's predictors on the same uint8 images, batch of 1, at the same thread count:
`inference.Predictor` (torch eager, channels-last batches: its fastest path on a CPU) and `export.OnnxPredictor` on the
graph `steel-export` writes (normalisation, padding, cropping and the sigmoid in the graph). Each configuration is run
with and without the 3-way flip TTA, rounds interleaved (torch, then ONNX, then torch...), median of the rounds.
Printed per line: both times, the ratio eager/ONNX, the largest probability difference and the number of mask pixels
that differ at the threshold 0.5. ONNX Runtime variants: full graph optimisation (the default) and basic only. Untrained
weights (the timing does not depend on them).

INT8 rows (`steel-export --int8`: convolutions quantized, calibrated on smooth synthetic images): the INT8 graph against
the float one on ONNX Runtime, same threads, batch of 1, no TTA; goal >= 1.5x. Beside them, how far the INT8 masks are
from the float ones (mean and lowest per-pair Dice at threshold 0.5, as the export's check measures it). An untrained
model's probabilities hover around 0.5, where rounding flips the most pixels: the parity of a trained model is measured
by the export itself (`steel-export MODEL --int8 --data DATASET`)."""
import argparse, statistics, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch

from steel_segmentation.cli import parse_size
from steel_segmentation.predictor import OnnxPredictor
from steel_segmentation.onnx import export_onnx
from steel_segmentation.predictor import Predictor
from steel_segmentation.models import create_model, save_model, model_config


def int8_rows(fn, onnx, d, img, args):
    "INT8 vs float ONNX Runtime on one model: times, ratio, and the export's check"
    from PIL import Image
    cal = Path(d)/'calib'
    cal.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    for k in range(8): # smooth blobs at several scales, as steel textures: calibration images of the benchmark's size
        h, w = img.shape[1:3]
        yy, xx = np.mgrid[:h, :w]
        a = 128 + 70*np.sin(xx/(9 + 4*k))*np.cos(yy/(5 + 2*k)) + rng.normal(0, 12, (h, w))
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).convert('RGB').save(cal/f'{k}.png')
    int8 = onnx.with_name(onnx.stem + '_int8.onnx')
    r = export_onnx([fn], int8, images=[cal], threads=args.threads, int8=True, min_dice=0)
    f32, i8 = OnnxPredictor([onnx], tta='none', threads=args.threads), OnnxPredictor([int8], tta='none', threads=args.threads)
    f32.probs(img); i8.probs(img)
    ta, tb = [], []
    for _ in range(args.rounds):
        ta.append(timed(f32.probs, img)[0]); tb.append(timed(i8.probs, img)[0])
    a, b = statistics.median(ta), statistics.median(tb)
    return a, b, r['int8']


def timed(f, x):
    t = time.perf_counter(); out = f(x); return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--size', default='256x1600')
    ap.add_argument('--archs', default='unet:resnet18,fpn:resnet34')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    h, w = parse_size(args.size)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:h, :w]
    img = np.clip((128 + 60*np.sin(xx/23)*np.cos(yy/11))[..., None] + rng.normal(0, 15, (h, w, 3)), 0, 255).astype(np.uint8)[None]
    print(f"{args.size}, batch of 1, {args.threads} thread(s), median of {args.rounds} rounds")
    print(f"{'model':<16}{'tta':<6}{'onnx opt':<10}{'eager s':>9}{'onnx s':>9}{'ratio':>8}{'max |dp|':>10}{'mask px differ':>16}")
    int8 = []
    with tempfile.TemporaryDirectory() as d:
        for spec in args.archs.split(','):
            arch, enc = spec.split(':')
            torch.manual_seed(0)
            fn = save_model(create_model(arch, enc, 4, pretrained=False).eval(), Path(d)/f'{arch}.safetensors', model_config('seg', arch, enc, 4))
            onnx = Path(d)/f'{arch}.onnx'
            export_onnx([fn], onnx, threads=args.threads)
            for tta in ('none', 'hv'):
                eager = Predictor([fn], tta=tta)
                for opt in ('all', 'basic'):
                    ort_pred = OnnxPredictor([onnx], tta=tta, threads=args.threads)
                    if opt == 'basic':
                        import onnxruntime as ort
                        so = ort.SessionOptions(); so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
                        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
                        ort_pred.sessions = [ort.InferenceSession(str(onnx), so, providers=['CPUExecutionProvider'])]
                    eager.probs(img); ort_pred.probs(img) # warm-up: first-call allocations and kernel choices
                    te, to = [], []
                    for _ in range(args.rounds):
                        t, (pe, _) = timed(eager.probs, img); te.append(t)
                        t, (po, _) = timed(ort_pred.probs, img); to.append(t)
                    a, b = statistics.median(te), statistics.median(to)
                    print(f"{arch + '/' + enc:<16}{tta:<6}{opt:<10}{a:>9.3f}{b:>9.3f}{a/b:>8.2f}{float(np.abs(pe - po).max()):>10.1e}"
                          f"{int(((pe > 0.5) != (po > 0.5)).sum()):>16}", flush=True)
            a, b, p = int8_rows(fn, onnx, d, img, args)
            int8.append(f"{arch + '/' + enc:<16}{a:>9.3f}{b:>9.3f}{a/b:>8.2f}   (goal >= 1.5)   INT8 vs float masks on "
                        f"{p['pairs']} pairs: mean Dice {p['mean_dice']:.4f}, lowest {p['lowest_dice']:.4f}")
    print(f"\nINT8 against float, ONNX Runtime, no TTA\n{'model':<16}{'float s':>9}{'int8 s':>9}{'ratio':>8}")
    print('\n'.join(int8))


if __name__ == '__main__': main()
