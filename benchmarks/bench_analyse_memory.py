"""Peak memory of `steel-analyse` on 200 labelled images vs 50 (goal: ratio <= 1.1): the analysis pass is streamed.

Usage: python benchmarks/bench_analyse_memory.py [--small 50] [--large 200] [--size 128x800] [--bs 8]

Measured as `bench_submit_memory.py` measures `steel-submit` (a fresh process per run, its peak resident set size). The
pass keeps numbers per image (a few per pair, a row per defect), never an image: its memory is that of a batch, plus the
gallery's dozen images predicted again at the end."""
import sys

from bench_submit_memory import compare


def analyse_cmd(data, model, out, bs)->list:
    return ['steel-analyse', '--data', str(data), '--models', str(model), '--csv', 'test_labels.csv',
            '--img-dir', 'test_images', '--bs', str(bs), '--out', str(out)]


if __name__ == '__main__': sys.exit(compare(__doc__, 'steel-analyse', analyse_cmd))
