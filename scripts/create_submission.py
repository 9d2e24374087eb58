"""Predict the test images and write a Kaggle submission: `python scripts/create_submission.py --data data/severstal --models M ...`.

A thin wrapper over the `steel-submit` console script (same options, see --help)."""
from steel_segmentation.cli import steel_submit

if __name__ == '__main__': steel_submit()
