"""Train a segmentation model or the defect classifier: `python scripts/segmentation_train.py --data data/severstal ...`.

A thin wrapper over the `steel-train` console script (same options, see --help)."""
from steel_segmentation.cli import steel_train

if __name__ == '__main__': steel_train()
