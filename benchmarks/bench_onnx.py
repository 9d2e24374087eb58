"""ONNX Runtime vs PyTorch eager on a CPU (goal: ONNX >= 1.5x faster than eager for U-Net/resnet18).

Usage: python benchmarks/bench_onnx.py [--threads 2] [--rounds 5] [--size 256x1600] [--archs unet:resnet18,fpn:resnet34]

Both sides are the project's predictors on the same uint8 images, batch of 1, at the same thread count:
`inference.Predictor` (torch eager, channels-last batches: its fastest path on a CPU) and `export.OnnxPredictor` on the
graph `steel-export` writes (normalisation, padding, cropping and the sigmoid in the graph). Each configuration is run
with and without the 3-way flip TTA, rounds interleaved (torch, then ONNX, then torch...), median of the rounds.
Printed per line: both times, the ratio eager/ONNX, the largest probability difference and the number of mask pixels
that differ at the threshold 0.5. ONNX Runtime variants: full graph optimisation (the default) and basic only. Untrained
weights (the timing does not depend on them)."""
import argparse, statistics, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch

from steel_segmentation.cli import parse_size
from steel_segmentation.predictor import OnnxPredictor
from steel_segmentation.onnx import export_onnx
from steel_segmentation.predictor import Predictor
from steel_segmentation.models import create_model, save_model, model_config


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


if __name__ == '__main__': main()
