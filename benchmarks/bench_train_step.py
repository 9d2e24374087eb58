"""One fastai training step against the same step in plain PyTorch (goal: ratio <= 1.15).

Usage: python benchmarks/bench_train_step.py [--arch unet] [--encoder resnet18] [--bs 4] [--crop 128x256] [--steps 10] [--rounds 3]

Same model architecture and weights, same batch (taken once from `SteelDataLoaders`), same loss (`bce_dice`), same
optimizer (torch AdamW, through fastai's `OptimWrapper` on the fastai side). The fastai step is
`Learner.one_batch` with the learner's callbacks (recorder, NaN guard, ...) in the state a running fit gives them;
the plain step is forward, loss, backward, step, zero_grad on plain tensors. Rounds alternate between the two in
this process, each going first in every other round; the ratio compares the median round of each."""
import argparse, copy, sys, time
from functools import partial

import numpy as np
import torch
from fastai.optimizer import OptimWrapper
from fastai.callback.progress import ProgressCallback
from fastai.torch_core import set_seed

from steel_segmentation.cli import parse_size
from steel_segmentation.learner import segmentation_learner
from steel_segmentation.losses import get_loss
from steel_segmentation.sample import sample_path
from steel_segmentation.dataloaders import SteelDataLoaders


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--arch', default='unet')
    ap.add_argument('--encoder', default='resnet18')
    ap.add_argument('--bs', type=int, default=4)
    ap.add_argument('--crop', default='128x256')
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--rounds', type=int, default=4)
    args = ap.parse_args()
    set_seed(0)
    dls = SteelDataLoaders.from_path(sample_path(), bs=args.bs, crop=parse_size(args.crop), num_workers=0)
    xb, yb = dls.one_batch()
    adamw = partial(OptimWrapper, opt=torch.optim.AdamW)
    learn = segmentation_learner(dls, args.arch, args.encoder, pretrained=False, opt_func=adamw)
    learn.remove_cb(ProgressCallback)
    model = copy.deepcopy(learn.model)
    loss_func = get_loss('bce_dice')
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, y = xb.as_subclass(torch.Tensor), yb.as_subclass(torch.Tensor)

    # put the learner in the state of a running fit, as `Learner.fit` would, then step it batch by batch
    learn.create_opt(); learn.opt.set_hyper('lr', 1e-4)
    learn.n_epoch, learn.epoch, learn.dl, learn.n_iter = 1, 0, dls.train, len(dls.train)
    learn('before_fit'); learn('before_epoch'); learn.model.train(); learn.training = True; learn('before_train')
    model.train()

    def fastai_steps():
        t = time.perf_counter()
        for i in range(args.steps): learn.one_batch(i, (xb, yb))
        return (time.perf_counter() - t)/args.steps

    def plain_steps():
        t = time.perf_counter()
        for _ in range(args.steps):
            loss = loss_func(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
        return (time.perf_counter() - t)/args.steps

    fastai_steps(); plain_steps()  # warm up both
    res = {'fastai': [], 'plain': []}
    for r in range(args.rounds):  # alternate which goes first: the second of a pair runs on a warmer machine
        first, second = (plain_steps, fastai_steps) if r % 2 == 0 else (fastai_steps, plain_steps)
        a, b = first(), second()
        res['plain'].append(a if first is plain_steps else b)
        res['fastai'].append(b if first is plain_steps else a)
    fa, pl = float(np.median(res['fastai'])), float(np.median(res['plain']))
    print(f"{args.arch}/{args.encoder}, batch {args.bs}x{tuple(xb.shape[1:])}, {args.steps} steps x {args.rounds} rounds (median round)")
    print(f"  plain PyTorch step  {pl*1e3:8.1f} ms")
    print(f"  fastai step         {fa*1e3:8.1f} ms")
    print(f"  ratio fastai/plain  {fa/pl:8.3f}  (goal <= 1.15)")
    ok = fa/pl <= 1.15
    if not ok: print("goal missed")
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())
