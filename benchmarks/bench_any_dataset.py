"""Images of many sizes: the magnetic tile data, padded crops (the default) against one fixed size (--resize), same budget.

Usage: python benchmarks/bench_any_dataset.py [--minutes 5] [--data ../shared/data/magnetic_tile] [--work DIR] [--seed 0]
       [--variant NAME 'TRAIN_ARGS' ...]

1. `steel-import` reads the class folders (a binary mask beside each image, MT_Free as the defect-free folder) into
   the Kaggle layout with a seeded, class-stratified 20% test split; the test images are never seen by training or tuning.
2. Two runs at the same time, one thread each, the same training budget, U-Net/resnet18 from scratch:
   - crops: `steel-train --minutes M` with its defaults (each image at its own size; training crops of the typical
     image, smaller images padded and the padding left out of the loss);
   - resize: the same with `--resize 160x160` (every image resized to one size for training and prediction);
   then `steel-tune` and `steel-submit` with their defaults for each. `--variant` replaces the second run.
3. Each submission is scored with the Kaggle Dice against the test truth, next to the all-empty baseline.

Skips (exit 0) without the data.
"""
import argparse, os, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import ROOT, run, project


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--minutes', type=float, default=5., help='training budget of each run')
    ap.add_argument('--data', default=str(ROOT.parent/'shared'/'data'/'magnetic_tile'))
    ap.add_argument('--work', default=None, help='folder for the imported data, runs and submissions (default: a temporary one)')
    ap.add_argument('--seed', type=int, default=0, help='seed of the test split')
    ap.add_argument('--variant', nargs=2, action='append', default=[], metavar=('NAME', 'TRAIN_ARGS'),
                    help="the second run: a name and extra steel-train options (default: resize '--resize 160x160')")
    a = ap.parse_args()
    src = Path(a.data)
    if not (src/'MT_Free').is_dir():
        print(f"skipped: magnetic tile data not found at {src}")
        return 0
    work = Path(a.work or tempfile.mkdtemp(prefix='bench_any_'))
    work.mkdir(parents=True, exist_ok=True)
    data = work/'mt'
    if not (data/'train.csv').exists():
        run(['steel-import', src, data, '--test-size', '0.2', '--seed', str(a.seed)], work/'import.log', None)
    # the import report: what was recognised (progress lines and the written paths left out)
    print('\n'.join(o for o in open(work/'import.log').read().splitlines()[1:] if not o.startswith(('reading ', 'copying ', str(data)))))
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    runs = {'crops': ()} | {k: tuple(v.split()) for k, v in (a.variant or [('resize', '--resize 160x160')])}
    with ThreadPoolExecutor(2) as ex:
        jobs = {k: ex.submit(project, data, work, a.minutes, env, k, args) for k, args in runs.items()}
        res = {k: f.result() for k, f in jobs.items()}
    from steel_segmentation.data import read_labels, classes
    from steel_segmentation.submission import score_submission
    truth = read_labels(data, 'test_labels.csv', 'test_images')
    empty = float((truth[classes(truth)] == '').to_numpy().mean())
    print(f"magnetic tile, {len(truth)} test images ({len(read_labels(data))} for training and validation), seed {a.seed}; "
          f"budget {a.minutes:g} min of training per run, one thread each, run side by side")
    print(f"  {'':10s} {'Kaggle Dice':>11s} {'untuned':>8s} {'training min':>13s}  options")
    for k, (sub, t_train, _) in res.items():
        untuned = score_submission(work/f'{k}_untuned.csv', truth)
        print(f"  {k:10s} {score_submission(sub, truth):11.4f} {untuned:8.4f} {t_train/60:13.1f}  {' '.join(runs[k]) or '(defaults)'}")
    print(f"  {'all-empty':10s} {empty:11.4f}")
    print(f"logs and files in {work}")
    return 0


if __name__ == '__main__': sys.exit(main())
