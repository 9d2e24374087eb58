"""The README's first command on every kind of CPU kernel: `steel-demo` with its defaults, per sample seed, on the
machine's own kernels and with AVX2 kernels forced (goal: the submission beats predicting nothing by at least 0.03 in
every run, in about 5 minutes on 2 cores, the folder under 100 MB).

Usage: python benchmarks/bench_demo.py [--seeds 0 1 2] [--kernels native avx2] [--out DIR]

AVX2 is forced the way a CPU without AVX-512 runs: `ATEN_CPU_CAPABILITY=avx2` (ATen's vectorised kernels) and
`ONEDNN_MAX_CPU_ISA=AVX2` (oneDNN's convolutions and matrix products), with which the demo's default precision is
float32 (oneDNN then reports no native bfloat16). Each run prints which kernels it used, as the run itself saw them.
Columns: the kernels ATen and oneDNN used, the training precision, the tuned validation Dice above predicting
nothing (valid+), the classifier's F1, the test score, predicting nothing's, the margin, seconds, the folder's MB and
the classes the tuning switched off. Runs go one after the other (the machine's cores are the demo's), alternating kernels so that a slow spell of a noisy
machine does not fall on one kind only."""
import argparse, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

AVX2 = {'ATEN_CPU_CAPABILITY': 'avx2', 'ONEDNN_MAX_CPU_ISA': 'AVX2'}
PROBE = "import torch; print(torch.backends.cpu.get_cpu_capability(), 'bf16' if torch.ops.mkldnn._is_mkldnn_bf16_supported() else 'fp32')"


def env_for(kernels):
    env = {k: v for k, v in os.environ.items() if k not in (*AVX2, 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')}
    return {**env, **AVX2} if kernels == 'avx2' else env


def one(kernels, seed, out):
    env = env_for(kernels)
    used = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True, env=env).stdout.split()
    t = time.perf_counter()
    r = subprocess.run(['steel-demo', '--out', str(out), '--seed', str(seed)], capture_output=True, text=True, env=env)
    secs = time.perf_counter() - t
    if r.returncode: return {'kernels': kernels, 'seed': seed, 'error': r.stderr.strip().splitlines()[-1:]}
    score, empty = map(float, re.search(r"test images: ([0-9.]+) \(all-empty baseline ([0-9.]+)\)", r.stdout).groups())
    # validation after tuning (thresholds, minimum areas, classifier gate) against predicting nothing on the same images
    tuned, base = map(float, re.search(r"validation Kaggle Dice: [0-9.]+ -> ([0-9.]+) \(predicting nothing: ([0-9.]+)\)", r.stdout).groups())
    f1 = float(re.search(r"best f1_score ([0-9.]+)", r.stdout).group(1))
    off = re.search(r"switched off \(.*\): (.*)", r.stdout)
    mb = sum(o.stat().st_size for o in Path(out).rglob('*') if o.is_file())/2**20
    return {'kernels': kernels, 'seed': seed, 'isa': used[0] if used else '?', 'precision': used[1] if len(used) > 1 else '?',
            'valid': tuned - base, 'f1': f1, 'score': score, 'empty': empty, 'margin': score - empty, 'seconds': secs, 'mb': mb,
            'off': off.group(1) if off else '-', 'last': r.stdout.strip().splitlines()[-1]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--kernels', nargs='+', default=['avx2', 'native'], choices=['avx2', 'native'])
    ap.add_argument('--out', default=None, help='keep the demo folders here (default: a temporary folder)')
    args = ap.parse_args()
    root = Path(args.out or tempfile.mkdtemp())
    rows = []
    print(f"{'kernels':8} {'seed':>4} {'isa':7} {'prec':5} {'valid+':>7} {'cls F1':>6} {'score':>7} {'empty':>7} {'margin':>7} {'s':>5} {'MB':>5}  off")
    try:
        for seed in args.seeds:
            for k in args.kernels:
                r = one(k, seed, root/f'{k}_s{seed}')
                rows.append(r)
                if 'error' in r: print(f"{k:8} {seed:>4} failed: {r['error']}", flush=True); continue
                print(f"{k:8} {seed:>4} {r['isa']:7} {r['precision']:5} {r['valid']:+7.4f} {r['f1']:6.3f} {r['score']:7.4f} {r['empty']:7.4f} "
                      f"{r['margin']:+7.4f} {r['seconds']:5.0f} {r['mb']:5.1f}  {r['off']}", flush=True)
    finally:
        if args.out is None: shutil.rmtree(root, ignore_errors=True)
    ok = [r for r in rows if 'error' not in r]
    if ok:
        print(f"\nsmallest margin {min(r['margin'] for r in ok):+.4f} (goal +0.03); time {min(r['seconds'] for r in ok)/60:.1f}-"
              f"{max(r['seconds'] for r in ok)/60:.1f} min; folder {max(r['mb'] for r in ok):.1f} MB at most; "
              f"{len(ok)}/{len(rows)} runs finished")
    sys.exit(0 if len(ok) == len(rows) else 1)


if __name__ == '__main__': main()
