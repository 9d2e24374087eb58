"""Any dataset: the magnetic tile data (small, rare defects; 374 image sizes), the project's plan against a plain script.

Usage: python benchmarks/bench_any_dataset.py [--minutes 15] [--data ../shared/data/magnetic_tile] [--work DIR] [--seed 0]
       [--precision auto|fp32] [--variant NAME 'TRAIN_ARGS' ...]

1. `steel-import` reads the class folders (a binary mask beside each image, MT_Free as the defect-free folder) into
   the Kaggle layout with a seeded, class-stratified 20% test split; the test images are never seen by training or tuning.
2. Two runs at the same time, one thread each, the same training budget, from scratch (`--no-pretrained`):
   - project: `steel-train --minutes M` with every other option from its plan (printed in project.log), then
     `steel-tune` and `steel-submit` with their defaults;
   - reference: benchmarks/reference_unet.py (the plain PyTorch script of bench_quality.py).
   `--variant NAME 'TRAIN_ARGS'` replaces the reference by a second project run with those options.
3. Each submission is scored with the Kaggle Dice against the test truth, next to the all-empty baseline, with the
   share of the budget each run's training used (the project's from its log: training and validation).

Exits 1 when the project does not beat all-empty by 0.02 or does not end within 95-102% of its budget (or, against the
reference, scores below it). Skips (exit 0) without the data.
"""
import argparse, os, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import ROOT, run, project, reference, budget_use


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--minutes', type=float, default=15., help='training budget of each run')
    ap.add_argument('--data', default=str(ROOT.parent/'shared'/'data'/'magnetic_tile'))
    ap.add_argument('--work', default=None, help='folder for the imported data, runs and submissions (default: a temporary one)')
    ap.add_argument('--seed', type=int, default=0, help='seed of the test split')
    ap.add_argument('--variant', nargs=2, action='append', default=[], metavar=('NAME', 'TRAIN_ARGS'),
                    help="a second project run instead of the reference: a name and extra steel-train options")
    ap.add_argument('--precision', default=None, help='steel-train --precision of every project run (e.g. fp32)')
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
    extra = ('--precision', a.precision) if a.precision else ()
    runs = {'project': extra} | {k: extra + tuple(v.split()) for k, v in a.variant}
    with ThreadPoolExecutor(2) as ex:
        jobs = {k: ex.submit(project, data, work, a.minutes, env, k, args) for k, args in runs.items()}
        if not a.variant: jobs['reference'] = ex.submit(reference, data, work, a.minutes, env)
        res = {k: f.result() for k, f in jobs.items()}
    from steel_segmentation.data import read_labels, classes
    from steel_segmentation.submission import score_submission
    truth = read_labels(data, 'test_labels.csv', 'test_images')
    empty = float((truth[classes(truth)] == '').to_numpy().mean())
    print(f"magnetic tile, {len(truth)} test images ({len(read_labels(data))} for training and validation), seed {a.seed}; "
          f"budget {a.minutes:g} min of training per run, one thread each, run side by side")
    print(f"  {'':10s} {'Kaggle Dice':>11s} {'untuned':>8s} {'budget used':>12s} {'command min':>12s}  options")
    scores, ok = {}, True
    for k, (sub, t_train, _) in res.items():
        scores[k] = score_submission(sub, truth)
        un = work/f'{k}_untuned.csv'
        untuned = f"{score_submission(un, truth):8.4f}" if un.exists() else f"{'':8s}"
        used = budget_use(work/f'{k}_run', a.minutes) if k in runs else t_train/60/a.minutes
        ok &= k not in runs or 0.95 <= used <= 1.02
        opts = ' '.join(runs[k]) or '(the plan)' if k in runs else 'benchmarks/reference_unet.py'
        print(f"  {k:10s} {scores[k]:11.4f} {untuned} {used:12.1%} {t_train/60:12.1f}  {opts}")
    print(f"  {'all-empty':10s} {empty:11.4f}")
    gain = scores['project'] - empty
    ok &= gain >= 0.02 and ('reference' not in scores or scores['project'] >= scores['reference'])
    vs = f", reference {scores['project'] - scores['reference']:+.4f}" if 'reference' in scores else ''
    print(f"  project vs all-empty {gain:+.4f} (goal >= +0.02){vs}; logs and files in {work}")
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
