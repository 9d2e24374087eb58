"""One `steel-train` reads the dataset once: train.csv parsed once and every training image opened once (its header,
or with the check the whole image), for one fold and for every fold; the typical size, the folds and each fold's
DataLoaders come from that one table."""
from collections import Counter
from pathlib import Path
from unittest.mock import patch

import pandas as pd
import PIL.Image
import pytest

from steel_segmentation.cli import steel_train
from steel_segmentation.sample import sample_path


@pytest.fixture(scope='module')
def data():
    return sample_path(n_train=12, n_test=2, size=(64, 256))


def counted_train(data, out, fold, check):
    "Run steel-train in this process, counting the reads of train.csv and the opens of each training image"
    csv_reads, opens = [], Counter()
    read_csv, open_image = pd.read_csv, PIL.Image.open
    def count_csv(fn, *a, **k):
        if Path(str(fn)).name == 'train.csv': csv_reads.append(fn)
        return read_csv(fn, *a, **k)
    def count_open(fp, *a, **k):
        if Path(str(fp)).parent.name == 'train_images': opens[Path(str(fp)).name] += 1
        return open_image(fp, *a, **k)
    with patch.object(pd, 'read_csv', count_csv), patch.object(PIL.Image, 'open', count_open):
        steel_train(data=str(data), out=str(out), fold=fold, crop='64x64', no_pretrained=True, no_check=not check,
                    epochs=1, bs=4, scale=1., n_folds=2, arch='unet', encoder='resnet18', workers=0, precision='fp32')
    return csv_reads, opens


@pytest.mark.parametrize('fold', ['0', 'all'])
@pytest.mark.parametrize('check', [True, False], ids=['check', 'no_check'])
def test_one_read_of_the_dataset(data, tmp_path, fold, check):
    csv_reads, opens = counted_train(data, tmp_path/'run', fold, check)
    assert len(csv_reads) == 1, csv_reads
    # PIL opens each image once: to decode it (the check) or to read its header; the training batches decode the
    # JPEG files with libjpeg-turbo, which is no scan of the folder
    images = sorted(p.name for p in (data/'train_images').iterdir())
    assert sorted(opens) == images and set(opens.values()) == {1}, opens
    runs = [tmp_path/'run'/f'fold{k}' for k in (0, 1)] if fold == 'all' else [tmp_path/'run']
    for d in runs: assert (d/'model.safetensors').is_file(), d
