"""`steel-analyse` end to end: planted errors found where they were planted, on images of several sizes; the same tables
from a model file and from its `.onnx` export."""
import json, subprocess

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import ROOT

onnx = pytest.importorskip('onnx', reason='the planted model is an ONNX graph: pip install onnx')
from onnx import TensorProto, helper

from steel_segmentation.models import model_config
from steel_segmentation.modelfile import set_onnx_config
from steel_segmentation.rle import mask2rle

CODE = 40 # a pixel whose red value is CODE*k is predicted as class k by the planted model


def planted_model(fn, n_classes, valid):
    "An ONNX graph in the export's format whose class-k probability is 1 exactly where the image's red value is CODE*k"
    nodes = [helper.make_node('Cast', ['image'], ['f'], to=TensorProto.FLOAT),
             helper.make_node('Transpose', ['f'], ['t'], perm=[0, 3, 1, 2]),
             helper.make_node('Gather', ['t', 'zero'], ['red'], axis=1),
             helper.make_node('Unsqueeze', ['red', 'one'], ['r'])]
    inits = [helper.make_tensor('zero', TensorProto.INT64, [], [0]), helper.make_tensor('one', TensorProto.INT64, [1], [1])]
    for k in range(1, n_classes + 1):
        inits.append(helper.make_tensor(f'code{k}', TensorProto.FLOAT, [], [float(CODE*k)]))
        nodes += [helper.make_node('Equal', ['r', f'code{k}'], [f'e{k}']),
                  helper.make_node('Cast', [f'e{k}'], [f'p{k}'], to=TensorProto.FLOAT)]
    nodes.append(helper.make_node('Concat', [f'p{k}' for k in range(1, n_classes + 1)], ['probs'], axis=1))
    graph = helper.make_graph(nodes, 'planted', [helper.make_tensor_value_info('image', TensorProto.UINT8, ['b', 'h', 'w', 3])],
                              [helper.make_tensor_value_info('probs', TensorProto.FLOAT, ['b', n_classes, 'h', 'w'])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 18)])
    cfg = {**model_config('seg', 'unet', 'resnet18', n_classes, class_names=['pit', 'crack', 'patch'][:n_classes]),
           'channels': 3, 'opset': 18, 'valid_images': valid, 'members': [], 'classifier': None}
    onnx.save(set_onnx_config(m, cfg), str(fn))
    return fn


def rect(shape, y0, y1, x0, x1):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def planted_data(d):
    """Six images of four sizes, three classes; truth and prediction per image and class:
    a: class 1 found exactly, and a tiny class-1 defect (3 px) beside it missed
    b: class 2 missed            c: no defect, class 3 invented        d: class 1 predicted as class 2
    e: class 3 predicted beside the defect (both non-empty, disjoint)  f: no defect, nothing predicted"""
    shapes = {'a.png': (32, 64), 'b.png': (40, 80), 'c.png': (32, 64), 'd.png': (48, 48), 'e.png': (64, 96), 'f.png': (40, 80)}
    truth = {k: np.zeros((3, *s), bool) for k, s in shapes.items()}
    pred = {k: np.zeros((3, *s), bool) for k, s in shapes.items()}
    truth['a.png'][0] = pred['a.png'][0] = rect(shapes['a.png'], 4, 12, 4, 20)
    truth['a.png'][0, 25, 40:43] = True
    truth['b.png'][1] = rect(shapes['b.png'], 10, 30, 10, 50)
    pred['c.png'][2] = rect(shapes['c.png'], 5, 15, 30, 45)
    truth['d.png'][0] = pred['d.png'][1] = rect(shapes['d.png'], 10, 20, 10, 30)
    truth['e.png'][2] = rect(shapes['e.png'], 5, 15, 5, 15)
    pred['e.png'][2] = rect(shapes['e.png'], 40, 50, 60, 80)
    (d/'train_images').mkdir(parents=True)
    rng, rows = np.random.default_rng(0), []
    for name, s in shapes.items():
        img = rng.integers(0, CODE - 10, (*s, 3), dtype=np.uint8)
        for k in range(3): img[pred[name][k], 0] = CODE*(k + 1)
        Image.fromarray(img).save(d/'train_images'/name)
        rows += [(name, k + 1, mask2rle(truth[name][k])) for k in range(3) if truth[name][k].any()]
    pd.DataFrame(rows, columns=['ImageId', 'ClassId', 'EncodedPixels']).to_csv(d/'train.csv', index=False)
    (d/'classes.txt').write_text('pit\ncrack\npatch\n')
    return truth, pred


def analyse(*args):
    r = subprocess.run(['steel-analyse', *map(str, args)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    return r


def test_planted_errors(tmp_path):
    truth, pred = planted_data(tmp_path/'data')
    model = planted_model(tmp_path/'planted.onnx', 3, sorted(truth))
    r = analyse('--data', tmp_path/'data', '--models', model, '--out', tmp_path/'out')
    assert r.returncode == 0, r.stderr[-3000:]
    pairs = pd.read_csv(tmp_path/'out'/'pairs.csv', dtype={'class': str}).set_index(['ImageId', 'class'])
    kind = pairs.outcome.to_dict()
    assert kind[('a.png', '1')] == 'true positive'
    assert kind[('b.png', '2')] == 'missed defect'
    assert kind[('c.png', '3')] == 'invented defect'
    assert (kind[('d.png', '1')], kind[('d.png', '2')]) == ('missed defect', 'invented defect')
    assert kind[('e.png', '3')] == 'both non-empty'
    assert all(kind[('f.png', c)] == 'true empty' for c in '123')
    # every pair against a Dice computed here from the planted masks
    for (name, c), row in pairs.iterrows():
        t, p = truth[name][int(c) - 1], pred[name][int(c) - 1]
        want = 1. if not t.any() and not p.any() else 2*(t & p).sum()/(t.sum() + p.sum())
        assert row.dice == pytest.approx(want), (name, c)
        assert (row.true_area, row.pred_area, row.inter) == (t.sum(), p.sum(), (t & p).sum())
    defects = pd.read_csv(tmp_path/'out'/'defects.csv', dtype={'class': str})
    a1 = defects[(defects.ImageId == 'a.png') & (defects['class'] == '1')].sort_values('area')
    assert a1.area.tolist() == [3, 128] and a1.predicted.tolist() == [0., 1.], a1
    assert a1['size'].tolist()[0] == 'small' and a1['size'].tolist()[1] != 'small'
    inv = defects[defects.kind == 'invented']
    assert sorted(zip(inv.ImageId, inv['class'], inv.area)) == [('c.png', '3', 150), ('d.png', '2', 200), ('e.png', '3', 200)]
    assert defects[(defects.ImageId == 'e.png') & (defects.kind == 'defect')].predicted.tolist() == [0.]
    # the summary equals counts made independently from the planted masks
    s = pd.read_csv(tmp_path/'out'/'summary.csv').set_index(['class', 'masks'])
    for k, name in enumerate(['pit', 'crack', 'patch']):
        ds = []
        for img in truth:
            t, p = truth[img][k], pred[img][k]
            ds.append(1. if not t.any() and not p.any() else 2*(t & p).sum()/(t.sum() + p.sum()))
        assert s.loc[(name, 'post-processed'), 'dice'] == pytest.approx(np.mean(ds))
    assert s.loc[('pit', 'post-processed'), ['true positive', 'missed defect', 'true empty']].tolist() == [1, 1, 4]
    assert s.loc[('pit', 'post-processed'), 'defects'] == 3 and s.loc[('pit', 'post-processed'), 'recall'] == pytest.approx(1/3)
    assert s.loc[('all', 'post-processed'), 'invented components'] == 3
    assert s.loc[('all', 'post-processed'), 'both non-empty'] == 1
    for f in ('gallery.png', 'curves.png'):
        with Image.open(tmp_path/'out'/f) as im: assert im.size[0] > 300 and im.size[1] > 150
    assert 'pit' in r.stdout and str(tmp_path/'out'/'gallery.png') in r.stdout


def test_refusals(tmp_path):
    truth, _ = planted_data(tmp_path/'data')
    model = planted_model(tmp_path/'planted.onnx', 3, [])
    r = analyse('--data', tmp_path/'data', '--models', model, '--out', tmp_path/'out')
    assert r.returncode == 2 and 'does not record its validation images' in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path/'out').exists()
    other = planted_model(tmp_path/'other.onnx', 3, ['gone.png'])
    r = analyse('--data', tmp_path/'data', '--models', other)
    assert r.returncode == 2 and "1 validation image(s) of the model are not in" in r.stderr and 'gone.png' in r.stderr
    r = analyse('--data', tmp_path/'nowhere', '--models', model)
    assert r.returncode == 2 and 'nowhere' in r.stderr and 'Traceback' not in r.stderr
    (tmp_path/'file').write_text('')
    r = analyse('--data', tmp_path/'data', '--models', model, '--csv', 'train.csv', '--out', tmp_path/'file')
    assert r.returncode == 2 and '--out' in r.stderr, r.stderr


def test_onnx_same_tables(trained, tmp_path):
    "A trained model file and its .onnx export give the same pairs (within the export's parity tolerance)"
    d, data, model = trained
    onx = tmp_path/'model.onnx'
    r = subprocess.run(['steel-export', str(model), '--out', str(onx)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    tabs = {}
    for m in (model, onx):
        r = analyse('--data', data, '--models', m, '--csv', 'test_labels.csv', '--img-dir', 'test_images', '--out', tmp_path/m.suffix[1:])
        assert r.returncode == 0, r.stderr[-3000:]
        tabs[m.suffix] = pd.read_csv(tmp_path/m.suffix[1:]/'pairs.csv')
    a, b = tabs['.safetensors'], tabs['.onnx']
    assert len(a) == 10*4 and a[['ImageId', 'class']].equals(b[['ImageId', 'class']])
    assert np.allclose(a.dice, b.dice, atol=0.01), (a.dice - b.dice).abs().max()
    assert (a.outcome == b.outcome).mean() >= 0.95
