"""Model quality on real steel: the project's default recipe against a plain-PyTorch reference, same budget.

Usage: python benchmarks/bench_quality.py [--minutes 15] [--data ../shared/data/neu_seg] [--work DIR] [--seed 0]
       [--precision auto|fp32]

1. `steel-import` turns NEU-Seg (images + class-index masks) into the Kaggle layout with a seeded, class-stratified
   test split (20%): the test images are never seen by training or tuning.
2. Both sides run at the same time, one thread each (OMP_NUM_THREADS=1), with the same training budget:
   - project: `steel-train --no-pretrained --minutes M` (a U-Net from scratch, every other option at its default:
     the plan's encoder, RegNetX-400MF on a CPU), then `steel-tune` on the run's validation images and
     `steel-submit`, all with their defaults;
   - reference: benchmarks/reference_unet.py (smp U-Net/resnet18, BCE+Dice, Adam, flips, 128px downscaled input,
     trained until the budget runs out, threshold 0.5, no tuning, no TTA).
3. Both submissions are scored with the Kaggle Dice against the test truth, next to the all-empty baseline.

Prints the two scores, the baseline, the share of the budget the project's training and validation used (from its
log), and the minutes each side's commands took. `--precision fp32` trains as on CPUs without native bfloat16.
Exits 1 when the project does not beat the reference by 0.03 and reach 0.91, or does not end within 95-102% of its
budget. Skips (exit 0) without the data.
"""
import argparse, os, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEU_CLASSES = 'inclusion,patches,scratches'


def run(cmd, log, env):
    "Run a command, its output into `log`; the seconds it took"
    t = time.time()
    with open(log, 'a') as f:
        f.write(f"$ {' '.join(map(str, cmd))}\n"); f.flush()
        r = subprocess.run(list(map(str, cmd)), stdout=f, stderr=subprocess.STDOUT, env=env)
    if r.returncode: raise SystemExit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}; see {log}")
    return time.time() - t


def project(data, work, minutes, env, name='project', train_args=(), tune_args=(), submit_args=()):
    log, run_dir, sub = work/f'{name}.log', work/f'{name}_run', work/f'{name}.csv'
    model = run_dir/'model.safetensors'
    t_train = run(['steel-train', '--data', data, '--no-pretrained', '--minutes', minutes, '--out', run_dir, *train_args],
                  log, env)
    # the same model before tuning (threshold 0.5, no TTA), to show what the tuning adds; not counted in the total
    run(['steel-submit', '--data', data, '--models', model, '--tta', 'none', '--out', work/f'{name}_untuned.csv'], log, env)
    t_tune = run(['steel-tune', '--data', data, '--models', model, *tune_args], log, env)
    t_sub = run(['steel-submit', '--data', data, '--models', model, '--out', sub, *submit_args], log, env)
    return sub, t_train, t_train + t_tune + t_sub


def budget_use(run_dir, minutes):
    "Share of the budget a project run used, training and validation, from its log (fold folders summed)"
    import pandas as pd
    logs = [run_dir/'log.csv'] if (run_dir/'log.csv').exists() else sorted(run_dir.glob('fold*/log.csv'))
    return sum(float(pd.read_csv(o).elapsed.iloc[-1]) for o in logs)/(minutes*60)


def reference(data, work, minutes, env):
    log, sub = work/'reference.log', work/'reference.csv'
    t = run([sys.executable, ROOT/'benchmarks'/'reference_unet.py', data, '--minutes', minutes, '--out', sub], log, env)
    lines = [o for o in open(log) if o.startswith('reference:')]
    train_min = float(lines[-1].split('training ')[1].split(' min')[0]) if lines else float('nan')
    return sub, train_min*60, t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--minutes', type=float, default=15., help='training budget of each side')
    ap.add_argument('--data', default=str(ROOT.parent/'shared'/'data'/'neu_seg'))
    ap.add_argument('--work', default=None, help='folder for the imported data, runs and submissions (default: a temporary one)')
    ap.add_argument('--seed', type=int, default=0, help='seed of the test split')
    ap.add_argument('--variant', nargs=2, action='append', default=[], metavar=('NAME', 'TRAIN_ARGS'),
                    help="instead of the reference, a second project run with extra steel-train options, e.g. "
                         "--variant scale1 '--scale 1' (to measure one change of the recipe against the defaults)")
    ap.add_argument('--tune-args', default='', help='extra steel-tune options for every project run')
    ap.add_argument('--precision', default=None, help='steel-train --precision of every project run (e.g. fp32)')
    a = ap.parse_args()
    src = Path(a.data)
    if not (src/'images').is_dir():
        print(f"skipped: NEU-Seg not found at {src}")
        return 0
    work = Path(a.work or tempfile.mkdtemp(prefix='bench_quality_'))
    work.mkdir(parents=True, exist_ok=True)
    data = work/'neu'
    if not (data/'train.csv').exists():
        subprocess.run(['steel-import', src, data, '--classes', NEU_CLASSES, '--test-size', '0.2', '--seed', str(a.seed)],
                       check=True, stdout=subprocess.DEVNULL)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    tune = a.tune_args.split()
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as ex:
        extra = ('--precision', a.precision) if a.precision else ()
        jobs = {'project': ex.submit(project, data, work, a.minutes, env, 'project', extra, tune)}
        if a.variant:
            for name, args in a.variant:
                jobs[name] = ex.submit(project, data, work, a.minutes, env, name, extra + tuple(args.split()), tune)
        else: jobs['reference'] = ex.submit(reference, data, work, a.minutes, env)
        res = {k: f.result() for k, f in jobs.items()}

    from steel_segmentation.data import read_labels, classes
    from steel_segmentation.submission import score_submission
    truth = read_labels(data, 'test_labels.csv', 'test_images')
    empty = float((truth[classes(truth)] == '').to_numpy().mean())
    scores = {k: score_submission(sub, truth) for k, (sub, _, _) in res.items()}
    untuned = {k: score_submission(work/f'{k}_untuned.csv', truth) for k in res if (work/f'{k}_untuned.csv').exists()}
    print(f"NEU-Seg, {len(truth)} test images ({len(read_labels(data))} for training and validation), seed {a.seed}; "
          f"budget {a.minutes:g} min of training per side, one thread each, run side by side")
    print(f"  {'':12s} {'Kaggle Dice':>11s} {'budget used':>12s} {'training min':>13s} {'total min':>10s}")
    used = {k: budget_use(work/f'{k}_run', a.minutes) for k in res if k != 'reference'}
    for k, (_, t_train, t_total) in res.items():
        u = f"{used[k]:12.1%}" if k in used else f"{t_train/60/a.minutes:12.1%}"
        print(f"  {k:12s} {scores[k]:11.4f} {u} {t_train/60:13.1f} {t_total/60:10.1f}"
              + (f"   (before tuning, threshold 0.5, no TTA: {untuned[k]:.4f})" if k in untuned else ''))
    print(f"  {'all-empty':12s} {empty:11.4f}")
    if a.variant:
        for name, args in a.variant: print(f"  {name} ({args}) - project: {scores[name] - scores['project']:+.4f}; logs and files in {work}")
        return 0
    ps, rs = scores['project'], scores['reference']
    print(f"  project - reference: {ps - rs:+.4f} (goal >= +0.03, and project >= 0.91); budget used "
          f"{used['project']:.1%} (goal 95-102%); logs and files in {work}")
    return 0 if ps >= rs + 0.03 and ps >= 0.91 and 0.95 <= used['project'] <= 1.02 else 1


if __name__ == '__main__': sys.exit(main())
