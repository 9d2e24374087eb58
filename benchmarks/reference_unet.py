"""The plain-PyTorch reference of bench_quality.py: what a short, careful script does without this library.

smp U-Net/resnet18 from scratch on downscaled images, BCE + Dice, Adam (lr 1e-3), random flips, trained until the
time budget runs out (an epoch is started only if it fits), threshold 0.5, no tuning, no TTA. It reads a folder in
the Kaggle layout (train.csv, train_images/, test_images/, sample_submission.csv) and writes a submission.

Usage: python benchmarks/reference_unet.py DATA --minutes 15 --out reference.csv [--size 128] [--bs 16]
"""
import argparse, csv, os, time

import numpy as np
import pandas as pd
import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from PIL import Image


def rle_decode(rle, h, w):
    m = np.zeros(h*w, np.uint8)
    s = np.asarray(str(rle).split(), dtype=np.int64)
    for a, n in zip(s[0::2] - 1, s[1::2]): m[a:a+n] = 1
    return m.reshape(w, h).T


def rle_encode(m):
    px = np.concatenate([[0], m.T.flatten(), [0]])
    runs = np.flatnonzero(px[1:] != px[:-1]) + 1
    runs[1::2] -= runs[0::2]
    return ' '.join(map(str, runs))


def load(fn, size):
    img = np.asarray(Image.open(fn).convert('RGB'), np.float32)/255
    x = torch.from_numpy((img - 0.45)/0.225).permute(2, 0, 1)
    return F.interpolate(x[None], size=size, mode='bilinear', antialias=True, align_corners=False)[0], img.shape[:2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('data'); ap.add_argument('--minutes', type=float, default=15); ap.add_argument('--out', required=True)
    ap.add_argument('--size', type=int, default=128); ap.add_argument('--bs', type=int, default=16)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    t0 = time.time()
    torch.manual_seed(a.seed); rng = np.random.default_rng(a.seed)
    labels = pd.read_csv(os.path.join(a.data, 'train.csv'))
    cls_file = os.path.join(a.data, 'classes.txt')
    n_cls = len(open(cls_file).read().split('\n')) - 1 if os.path.exists(cls_file) else int(labels.ClassId.max())
    names = sorted(os.listdir(os.path.join(a.data, 'train_images')))
    X, Y = [], []
    for n in names:
        x, (h, w) = load(os.path.join(a.data, 'train_images', n), (a.size, a.size))
        y = np.zeros((n_cls, h, w), np.float32)
        for c, r in labels[labels.ImageId == n][['ClassId', 'EncodedPixels']].values: y[c-1] = rle_decode(r, h, w)
        X.append(x); Y.append(F.interpolate(torch.from_numpy(y)[None], size=(a.size, a.size), mode='area')[0])
    X, Y = torch.stack(X), torch.stack(Y)
    model = smp.Unet('resnet18', encoder_weights=None, classes=n_cls)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    dice = smp.losses.DiceLoss('multilabel', from_logits=True)
    budget, epochs, epoch_s = a.minutes*60, 0, 0.
    while time.time() - t0 + epoch_s < budget:
        e0 = time.time(); model.train()
        for idx in torch.from_numpy(rng.permutation(len(X))).split(a.bs):
            x, y = X[idx], Y[idx]
            if rng.random() < .5: x, y = x.flip(-1), y.flip(-1)
            if rng.random() < .5: x, y = x.flip(-2), y.flip(-2)
            out = model(x)
            loss = F.binary_cross_entropy_with_logits(out, y) + dice(out, y)
            opt.zero_grad(); loss.backward(); opt.step()
        epochs += 1; epoch_s = time.time() - e0
    train_s = time.time() - t0
    model.eval()
    test = pd.read_csv(os.path.join(a.data, 'sample_submission.csv')).ImageId.unique()
    with open(a.out, 'w', newline='') as f, torch.no_grad():
        wr = csv.writer(f); wr.writerow(['ImageId', 'EncodedPixels', 'ClassId'])
        for n in test:
            x, (h, w) = load(os.path.join(a.data, 'test_images', n), (a.size, a.size))
            p = torch.sigmoid(F.interpolate(model(x[None]), size=(h, w), mode='bilinear', align_corners=False))[0]
            for c in range(n_cls): wr.writerow([n, rle_encode((p[c] > 0.5).numpy().astype(np.uint8)), c + 1])
    print(f"reference: {epochs} epochs, training {train_s/60:.1f} min, total {(time.time() - t0)/60:.1f} min -> {a.out}")


if __name__ == '__main__': main()
