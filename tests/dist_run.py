"""Two-process training run for tests/test_distributed.py: `torchrun --nproc_per_node 2 tests/dist_run.py OUT`.

Trains one epoch on the sample with fastai's distributed support (gloo on CPUs), then the first process writes the
model file and the validation values fastai recorded."""
import json, sys
from pathlib import Path

from fastai.torch_core import set_seed, rank_distrib, num_distrib


def make_dls():
    from steel_segmentation.sample import sample_path
    from steel_segmentation.dataloaders import SteelDataLoaders
    set_seed(0)
    # fold 1 of 21 images holds 5: an odd count, so the two processes' shards need padding
    return SteelDataLoaders.from_path(sample_path(n_train=21, n_test=2, size=(128, 256)), bs=2, crop=(64, 128),
                                      n_folds=4, fold=1, num_workers=0)


def main(out):
    from steel_segmentation.learner import segmentation_learner
    from steel_segmentation.fit import distrib_ctx
    from steel_segmentation.models import save_model
    out = Path(out)
    dls = make_dls()
    learn = segmentation_learner(dls, 'unet', 'resnet18', pretrained=False)
    with distrib_ctx(learn):
        learn.fit(1, 1e-3)
    if rank_distrib() == 0:
        save_model(learn.model, out/'model.safetensors', learn.config)
        names = list(learn.recorder.metric_names[1:-1])
        vals = dict(zip(names, map(float, learn.recorder.values[-1])))
        (out/'values.json').write_text(json.dumps({'world_size': num_distrib(), **vals}))


if __name__ == '__main__': main(sys.argv[1])
