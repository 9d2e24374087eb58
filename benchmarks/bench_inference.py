"""Whole prediction pipeline vs the raw model forward on the same batches (goals: <= 1.2x; 3-way flip TTA <= 3.1x).

Usage: python benchmarks/bench_inference.py [--n 24] [--bs 4] [--size 256x1600] [--rounds 3]

The pipeline is what `steel-submit` does per image: read and decode the file, normalise, forward, sigmoid,
post-process (threshold, small components, minimum area), RLE-encode and write the rows. The reference is the model's
forward alone on the same batches, already decoded and normalised in memory. Both engines: torch eager (`Predictor`)
against the model's forward, and ONNX Runtime (`OnnxPredictor` on the `steel-export` graph) against the runtime's run
of the graph on the same uint8 batches. The predictor's own forwards may be cheaper than the reference's (on a CPU
torch runs them in chunks of `predictor.CPU_CHUNK` pixels), so the TTA pipeline is also given over the no-TTA one. Untrained U-Net/resnet18 (the timing does not depend on the weights), one
process, rounds interleaved, best round of each."""
import argparse, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch

from steel_segmentation.cli import parse_size
from steel_segmentation.rle import mask2rle
from steel_segmentation.predictor import Predictor, OnnxPredictor, predict_files
from steel_segmentation.onnx import export_onnx
from steel_segmentation.models import create_model, save_model, model_config
from steel_segmentation.sample import sample_path
from steel_segmentation.submission import SubmissionWriter
from steel_segmentation.images import read_image


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=24)
    ap.add_argument('--bs', type=int, default=4)
    ap.add_argument('--size', default='256x1600')
    ap.add_argument('--rounds', type=int, default=3)
    args = ap.parse_args()
    torch.manual_seed(0)
    path = sample_path(n_train=8, n_test=args.n, size=parse_size(args.size))
    fns = sorted((path/'test_images').iterdir())
    with tempfile.TemporaryDirectory() as d:
        fn = save_model(create_model('unet', 'resnet18', 4, pretrained=False).eval(), Path(d)/'m.safetensors',
                        model_config('seg', 'unet', 'resnet18', 4, post={'thresh': 0.5, 'min_size': 10, 'min_area': 100}))
        preds = {t: Predictor([fn], tta=t) for t in ('none', 'hv')}
        model, cfg = preds['none'].models[0]
        batches = [np.stack([read_image(f) for f in fns[i:i+args.bs]]) for i in range(0, len(fns), args.bs)]
        xs = [preds['none']._input(b, cfg) for b in batches]

        def raw():
            t = time.perf_counter()
            with torch.inference_mode():
                for x in xs: model(x)
            return (time.perf_counter() - t)/len(fns)

        def pipeline(tta, engine=preds):
            t = time.perf_counter()
            with SubmissionWriter(Path(d)/'sub.csv', engine[tta].n_classes) as w:
                for name, m in predict_files(engine[tta], fns, args.bs, progress=False): w.add(name, [mask2rle(o) for o in m])
            return (time.perf_counter() - t)/len(fns)

        onnx = Path(d)/'m.onnx'
        export_onnx([fn], onnx)
        opreds = {t: OnnxPredictor([onnx], tta=t) for t in ('none', 'hv')}
        sess = opreds['none'].sessions[0]

        def raw_onnx():
            t = time.perf_counter()
            for b in batches: sess.run(None, {'image': b})
            return (time.perf_counter() - t)/len(fns)

        # one engine after the other: ONNX Runtime's threads keep spinning a while after a run, slowing torch's
        res = {k: [] for k in ('raw', 'none', 'hv', 'onnx raw', 'onnx none', 'onnx hv')}
        raw(); pipeline('none')
        for _ in range(args.rounds):
            res['raw'].append(raw()); res['none'].append(pipeline('none')); res['hv'].append(pipeline('hv'))
        raw_onnx(); pipeline('none', opreds)
        for _ in range(args.rounds):
            res['onnx raw'].append(raw_onnx()); res['onnx none'].append(pipeline('none', opreds))
            res['onnx hv'].append(pipeline('hv', opreds))
    best = {k: min(v) for k, v in res.items()}
    print(f"{len(fns)} images of {args.size}, batch {args.bs}, best of {args.rounds} rounds, per image:")
    ok = True
    for engine, pre in (('torch', ''), ('ONNX Runtime', 'onnx ')):
        r1, r3 = best[pre + 'none']/best[pre + 'raw'], best[pre + 'hv']/best[pre + 'raw']
        print(f"  {engine}: raw forward        {best[pre + 'raw']*1e3:8.1f} ms")
        print(f"    pipeline, no TTA            {best[pre + 'none']*1e3:8.1f} ms   ratio {r1:.3f}  (goal <= 1.2)")
        print(f"    pipeline, 3-way flip TTA    {best[pre + 'hv']*1e3:8.1f} ms   ratio {r3:.3f}  (goal <= 3.1)")
        print(f"    TTA pipeline / no-TTA pipeline        ratio {best[pre + 'hv']/best[pre + 'none']:.3f}  (3 forwards: 3)")
        ok = ok and r1 <= 1.2 and r3 <= 3.1
    if not ok: print("goal missed")
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
