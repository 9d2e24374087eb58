"""Bad input, as a user would give it, to every command: each case checks the exit status, the message, and what is
left on disk (nothing partial, nothing foreign touched). Grouped by command; every case runs on tiny synthetic data."""
import io, os, shutil, stat, subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from steel_segmentation.sample import make_sample, make_images

pytestmark = pytest.mark.filterwarnings('ignore')


def run(*args, cwd=None, env=None, timeout=600):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **(env or {})})


def refused(r, *messages):
    "The command stopped with status 2 and one clear error line holding every message, no traceback"
    assert r.returncode == 2, f"exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    assert 'Traceback' not in r.stderr, r.stderr[-3000:]
    for m in messages: assert m in r.stderr, f"{m!r} not in:\n{r.stderr[-3000:]}"


def files(d):
    return sorted(o.name for o in os.scandir(d)) if os.path.isdir(d) else []


def snapshot(d):
    "{path below folder d: the file's bytes (None for a folder)}: compared before and after a run, nothing changed"
    d = Path(d)
    return {str(o.relative_to(d)): o.read_bytes() if o.is_file() else None for o in sorted(d.rglob('*'))}


def jpeg_bomb(fn, h=16000, w=16000):
    "A tiny JPEG whose header claims h x w pixels"
    b = io.BytesIO(); Image.new('L', (16, 16)).save(b, 'JPEG')
    d = bytearray(b.getvalue()); i = d.index(b'\xff\xc0')
    d[i+5:i+9] = h.to_bytes(2, 'big') + w.to_bytes(2, 'big')
    fn.write_bytes(bytes(d))


def current_umask():
    u = os.umask(0); os.umask(u)
    return u


def png_bomb(fn, h=20000, w=20000):
    "A tiny PNG (saved under a .jpg name: images are read by content) whose header claims h x w pixels"
    import struct, zlib
    b = io.BytesIO(); Image.new('L', (16, 16)).save(b, 'PNG')
    d = bytearray(b.getvalue())
    d[16:24] = struct.pack('>II', w, h)
    d[29:33] = struct.pack('>I', zlib.crc32(bytes(d[12:29])))
    fn.write_bytes(bytes(d))


def dead_pid():
    return int(subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True).stdout)


def writable(d):
    "Whether a file or a folder can be created in folder `d` (tried, then removed)"
    probe = Path(d)/f'.probe{os.getpid()}'
    for make, remove in ((Path.mkdir, Path.rmdir), (lambda o: o.write_text('x'), Path.unlink)):
        try: make(probe)
        except OSError: continue
        remove(probe)
        return True
    return False


def read_only_dir(tmp_path):
    "A folder this process cannot write in: a 0o555 folder, or for root, whom permission bits do not stop, /sys"
    if os.geteuid() == 0: d = Path('/sys')
    else: d = tmp_path/'ro'; d.mkdir(); d.chmod(0o555)
    assert not writable(d), f"{d} can be written: no read-only folder for this test"
    return d


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return make_sample(tmp_path_factory.mktemp('bad')/'data', n_train=12, n_test=4, size=(64, 128), progress=False)


@pytest.fixture(scope='module')
def models(data, tmp_path_factory):
    "Untrained 4-class and 2-class models (files as steel-train writes them), no training needed"
    import torch
    from steel_segmentation.models import create_model, save_model, model_config
    from steel_segmentation.data import read_labels
    d = tmp_path_factory.mktemp('models')
    torch.manual_seed(0)
    valid = read_labels(data).ImageId[:4].tolist()
    out = {}
    for n in (4, 2):
        out[n] = save_model(create_model('unet', 'resnet18', n, pretrained=False).eval(), d/f'm{n}.safetensors',
                            model_config('seg', 'unet', 'resnet18', n, valid_images=valid, post={'min_area': 20}))
    out['novalid'] = save_model(create_model('unet', 'resnet18', 4, pretrained=False).eval(), d/'novalid.safetensors',
                                model_config('seg', 'unet', 'resnet18', 4))
    return out


def copy_data(data, tmp_path):
    d = tmp_path/'data'
    shutil.copytree(data, d)
    return d


@pytest.fixture
def masks(tmp_path):
    "A class-index mask folder (images/, masks/) of 6 images, 3 classes"
    src = tmp_path/'src'
    (src/'images').mkdir(parents=True); (src/'masks').mkdir()
    for name, img, msk in make_images(6, (48, 64), 3, seed=3):
        Image.fromarray(img).save(src/'images'/name)
        Image.fromarray((msk*np.arange(1, 4, dtype=np.uint8)[:, None, None]).max(0)).save(src/'masks'/(name[:-4] + '.png'))
    return src


# ---------------------------------------------------------------- steel-sample

def test_sample_bad_size(tmp_path):
    refused(run('steel-sample', tmp_path/'s', '--size', '64by256'), "size '64by256' is not HxW")
    assert not (tmp_path/'s').exists()


def test_sample_existing_folder(tmp_path):
    (tmp_path/'s').mkdir(); (tmp_path/'s'/'mine.txt').write_text('keep')
    refused(run('steel-sample', tmp_path/'s'), 'exists and is not empty')
    assert files(tmp_path/'s') == ['mine.txt']


def test_sample_no_images(tmp_path):
    refused(run('steel-sample', tmp_path/'s', '--n-train', '0'), '--n-train must be a whole number of at least 1, got 0')
    assert files(tmp_path) == []


def test_sample_no_classes(tmp_path):
    refused(run('steel-sample', tmp_path/'s', '--n-classes', '0'), '--n-classes must be a whole number of at least 1')
    assert files(tmp_path) == []


# ---------------------------------------------------------------- steel-import

def test_import_missing_source(tmp_path):
    refused(run('steel-import', tmp_path/'nowhere', tmp_path/'out'), 'source folder not found')
    assert not (tmp_path/'out').exists()


def test_import_unknown_layout(tmp_path):
    (tmp_path/'src').mkdir()
    refused(run('steel-import', tmp_path/'src', tmp_path/'out'), 'is not a mask folder this importer knows', 'images/')
    assert files(tmp_path) == ['src'] and files(tmp_path/'src') == []


def test_import_mask_without_image(masks, tmp_path):
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(masks/'masks'/'orphan.png')
    before = snapshot(masks)
    refused(run('steel-import', masks, tmp_path/'out'), '1 mask(s) have no image', 'orphan.png')
    assert not (tmp_path/'out').exists() and snapshot(masks) == before


def test_import_size_mismatch(masks, tmp_path):
    m = sorted((masks/'masks').iterdir())[0]
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(m)
    before = snapshot(masks)
    refused(run('steel-import', masks, tmp_path/'out'), f'{m.name} is 20x30 but its image')
    assert not (tmp_path/'out').exists() and snapshot(masks) == before


def test_import_values_beyond_classes(masks, tmp_path):
    m = sorted((masks/'masks').iterdir())[1]
    a = np.array(Image.open(m)); a[0, 0] = 5; Image.fromarray(a).save(m)
    before = snapshot(masks)
    refused(run('steel-import', masks, tmp_path/'out', '--classes', 'a,b,c'), f'{m.name} has value(s) 5 beyond the 3 classes')
    assert not (tmp_path/'out').exists() and snapshot(masks) == before


def test_import_image_without_mask(masks, tmp_path):
    m = sorted((masks/'masks').iterdir())[2]; m.unlink()
    before = snapshot(masks)
    refused(run('steel-import', masks, tmp_path/'out'), '1 image(s) have no mask', '--unmasked defect-free')
    assert not (tmp_path/'out').exists() and snapshot(masks) == before
    r = run('steel-import', masks, tmp_path/'out', '--unmasked', 'defect-free')
    assert r.returncode == 0, r.stderr


def test_import_colour_mask(masks, tmp_path):
    m = sorted((masks/'masks').iterdir())[0]
    a = np.zeros((48, 64, 3), np.uint8); a[..., 0] = 200
    Image.fromarray(a).save(m)
    before = snapshot(masks)
    refused(run('steel-import', masks, tmp_path/'out'), 'is a colour mask')
    assert not (tmp_path/'out').exists() and snapshot(masks) == before


def test_import_into_foreign_folder(masks, tmp_path):
    (tmp_path/'out').mkdir(); (tmp_path/'out'/'thesis.tex').write_text('keep')
    refused(run('steel-import', masks, tmp_path/'out'), 'holds other files (thesis.tex)')
    assert files(tmp_path/'out') == ['thesis.tex']


def test_import_test_split_too_large(masks, tmp_path):
    before = snapshot(masks)
    refused(run('steel-import', masks, tmp_path/'out', '--test-size', '6'), 'leaves no training images')
    assert not (tmp_path/'out').exists() and snapshot(masks) == before


# ---------------------------------------------------------------- steel-train

def train(data, out, *extra):
    return run('steel-train', '--data', data, '--encoder', 'resnet18', '--no-pretrained', '--epochs', '1', '--no-check',
               '--out', out, *extra)


BAD_TRAIN_OPTIONS = [
    (['--epochs', '0'], '--epochs must be a whole number of at least 1'),
    (['--minutes', '-1'], '--minutes must be positive'),
    (['--minutes', '5'], 'epochs and minutes contradict each other'),
    (['--scale', '0'], '--scale must be in (0, 4]'),
    (['--pad', 'mirror'], "unknown padding 'mirror': use one of zeros, reflect, replicate"),
    (['--decoder', 'quarter'], "unknown decoder 'quarter': use one of full, half"),
    (['--arch', 'fpn', '--decoder', 'half'], "decoder 'half' sets the widths of a U-Net's decoder blocks, which fpn"),
    (['--crop', '100x128'], 'must be two positive multiples of 32'),
    (['--fold', '7'], "--fold must be 'all' or numbers in 0..4"),
    (['--arch', 'unet3'], "unknown architecture 'unet3'"),
    (['--encoder', 'resnet35'], "unknown encoder 'resnet35'"),
    (['--loss', 'l1'], "unknown loss 'l1'"),
    (['--lr', '-0.1'], '--lr must be positive'),
    (['--progressive', '0.5', '--progressive-share', '1.5'], '--progressive-share must be in (0, 1)'),
    (['--bs', '0'], '--bs must be a whole number of at least 1, got 0'),
    (['--crop', '12'], "--crop '12' is not HxW"),
    (['--precision', 'fp8'], "--precision must be one of auto, fp32, bf16, got 'fp8'"),
]


@pytest.fixture(scope='module')
def bad_train_runs(data, tmp_path_factory):
    "Every bad-option command at once (each spends most of its few seconds importing torch): {case: (result, out)}"
    from concurrent.futures import ThreadPoolExecutor
    d = tmp_path_factory.mktemp('badopt')
    cases = [(i, d/f'run{i}', opt) for i,(opt,_) in enumerate(BAD_TRAIN_OPTIONS)]
    with ThreadPoolExecutor(4) as ex: res = list(ex.map(lambda c: train(data, c[1], *c[2]), cases))
    return {i: (r, out) for (i,out,_),r in zip(cases, res)}


@pytest.mark.parametrize('case', range(len(BAD_TRAIN_OPTIONS)), ids=[' '.join(o) for o,_ in BAD_TRAIN_OPTIONS])
def test_train_bad_option(bad_train_runs, case):
    r, out = bad_train_runs[case]
    refused(r, BAD_TRAIN_OPTIONS[case][1])
    assert not out.exists()


@pytest.fixture(scope='module')
def train_refusals(data, tmp_path_factory):
    "The other refused training runs, prepared first and then run side by side: {case: (result, context)}"
    from concurrent.futures import ThreadPoolExecutor
    base = tmp_path_factory.mktemp('refusals')
    first = sorted(os.listdir(data/'train_images'))[0]
    def copy(name, row=None, classes=None):
        d = base/name/'data'; shutil.copytree(data, d)
        if classes: (d/'classes.txt').write_text(classes)
        if row:
            with open(d/'train.csv', 'a') as f: f.write(row)
        return d
    cases = {}
    d = copy('class_list', f"{first},7,1 3\n", 'a\nb\nc\nd\n')
    cases['class_list'] = (lambda d=d: train(d, base/'class_list'/'run'), len(open(d/'train.csv').read().splitlines()))
    d = copy('class_count', f"{first},7,1 3\n")
    cases['class_count'] = (lambda d=d: train(d, base/'class_count'/'run', '--n-classes', '4'), None)
    d = copy('crafted', "../outside.jpg,1,1 3\n")
    cases['crafted'] = (lambda d=d: train(d, base/'crafted'/'run'), None)
    d = copy('damaged')
    imgs = sorted((d/'train_images').iterdir())
    imgs[0].write_bytes(imgs[0].read_bytes()[:500]); jpeg_bomb(imgs[1])
    cases['damaged'] = (lambda d=d: run('steel-train', '--data', d, '--encoder', 'resnet18', '--no-pretrained', '--epochs', '1',
                                        '--out', base/'damaged'/'run'), [o.name for o in imgs[:2]])
    (base/'not_writable').mkdir()
    ro = read_only_dir(base/'not_writable')
    cases['not_writable'] = (lambda: train(data, f'{ro}/run'), (ro, files(ro)))
    (base/'file').write_text('mine')
    cases['out_file'] = (lambda: train(data, base/'file'), base/'file')
    cases['resume'] = (lambda: train(data, base/'resume', '--resume'), None)
    cases['offline'] = (lambda: run('steel-train', '--data', data, '--epochs', '1', '--out', base/'offline'), None) # the plan's encoder
    before = {k: snapshot(base/k) for k in ('class_list', 'class_count', 'crafted', 'damaged')}
    before['data'] = snapshot(data)
    with ThreadPoolExecutor(4) as ex: futs = {k: ex.submit(f) for k,(f,_) in cases.items()}
    return {k: (futs[k].result(), cases[k][1]) for k in cases}, base, before


def left_as_it_was(train_refusals, case):
    "The refused case's folder holds its data copy only, unchanged (no run folder)"
    _, base, before = train_refusals
    assert snapshot(base/case) == before[case], sorted(set(snapshot(base/case)) ^ set(before[case]))
    assert files(base/case) == ['data']


def test_train_class_beyond_the_class_list(train_refusals):
    r, n = train_refusals[0]['class_list']
    refused(r, "unknown ClassId '7'", f'line {n}', '1..4 (4 names in classes.txt)')
    left_as_it_was(train_refusals, 'class_list')


def test_train_class_beyond_the_class_count_given(train_refusals):
    refused(train_refusals[0]['class_count'][0], "unknown ClassId '7'", '1..4 (the number of classes given)')
    left_as_it_was(train_refusals, 'class_count')


def test_train_crafted_image_name(train_refusals):
    refused(train_refusals[0]['crafted'][0], "image name '../outside.jpg' is not a plain file name", 'train.csv line')
    left_as_it_was(train_refusals, 'crafted')


def test_train_damaged_and_bomb_images(train_refusals):
    (r, names), base = train_refusals[0]['damaged'], train_refusals[1]
    refused(r, '2 problem(s) in the dataset', *names, 'limit of 100,000,000 pixels', '--no-check')
    assert not (base/'damaged'/'run').exists()
    left_as_it_was(train_refusals, 'damaged')


def test_train_out_not_writable(data, train_refusals):
    r, (ro, held) = train_refusals[0]['not_writable']
    refused(r, 'cannot be written', 'no permission to write')
    assert files(ro) == held and not (ro/'run').exists()
    assert snapshot(data) == train_refusals[2]['data']


def test_train_out_is_a_file(data, train_refusals):
    r, fn = train_refusals[0]['out_file']
    refused(r, 'is a file: give a folder')
    assert fn.read_text() == 'mine'
    assert snapshot(data) == train_refusals[2]['data']


def test_train_resume_without_checkpoint(data, train_refusals):
    refused(train_refusals[0]['resume'][0], 'nothing to resume: no checkpoint in')
    assert not (train_refusals[1]/'resume').exists()
    assert snapshot(data) == train_refusals[2]['data']


def test_train_offline_pretrained(data, train_refusals):
    r = train_refusals[0]['offline'][0]
    refused(r, "could not download ImageNet weights for encoder 'resnet34'", '--no-pretrained', '--encoder-weights')
    assert 'Retrying' not in r.stderr
    assert not (train_refusals[1]/'offline').exists()
    assert snapshot(data) == train_refusals[2]['data']


def test_train_clean_run(data, tmp_path):
    "A short run writes readable files (the mode open() gives), removes its own stale temporaries, keeps foreign files"
    out = tmp_path/'run'; out.mkdir()
    stale, other = out/f'.model.safetensors.{dead_pid()}.a1b2.tmp', out/'.model.safetensors.notes'
    stale.write_text('half'); other.write_text('mine')
    r = run('steel-train', '--data', data, '--encoder', 'resnet18', '--no-pretrained', '--epochs', '1', '--bs', '4',
            '--crop', '64x64', '--no-check', '--out', out, env={'PYTHONWARNINGS': 'default'})
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'warning' not in r.stderr.lower(), r.stderr[-3000:]
    assert not stale.exists() and other.read_text() == 'mine'
    for name in ('model.safetensors', 'log.csv', 'report.png'):
        assert stat.S_IMODE((out/name).stat().st_mode) == 0o666 & ~current_umask(), name
    assert not (out/'checkpoint.pth').exists() # a finished run keeps no checkpoint
    assert not [o for o in files(out) if o.endswith('.tmp')], files(out)


# ---------------------------------------------------------------- steel-tune

def tune_refused(data, models, *args):
    "steel-tune refused with `args` (checked by the caller); no post.json written, no model file or data changed"
    before = snapshot(models[4].parent), snapshot(data)
    r = run('steel-tune', '--data', data, *args)
    assert (snapshot(models[4].parent), snapshot(data)) == before
    return r


def test_tune_model_without_validation_images(data, models):
    refused(tune_refused(data, models, '--models', models['novalid']), 'does not record its validation images')


def test_tune_wrong_mix(data, models):
    refused(tune_refused(data, models, '--models', models[4], '--mix', '1 2 3'),
            'the mix needs the empty pairs then 4 positive counts')


def test_tune_bad_images(data, models):
    refused(tune_refused(data, models, '--models', models[4], '--images', 'train'),
            "images must be auto, valid or all, got 'train'")


def test_tune_bad_candidates(data, models):
    refused(tune_refused(data, models, '--models', models[4], '--threshs', 'a b'),
            "--threshs 'a b' is not a list of numbers")


def test_tune_out_is_a_folder(data, models, tmp_path):
    "Refused before any image is predicted"
    r = tune_refused(data, models, '--models', models[4], '--out', tmp_path)
    refused(r, f'the parameters file {tmp_path} is a folder: give a file name')
    assert 'predicting' not in r.stderr and 'tuning' not in r.stderr, r.stderr
    assert files(tmp_path) == []


def test_tune_damaged_model_file(data, models, tmp_path):
    (tmp_path/'m.safetensors').write_bytes(b'\x00'*64)
    refused(tune_refused(data, models, '--models', tmp_path/'m.safetensors'), 'is not a steel_segmentation model file')
    assert snapshot(tmp_path) == {'m.safetensors': b'\x00'*64}


def test_tune_pickle_is_never_loaded(data, models, tmp_path):
    import pickle
    marker = tmp_path/'pwned'
    class Evil:
        def __reduce__(self): return (os.system, (f'touch {marker}',))
    evil = pickle.dumps(Evil()); (tmp_path/'m.safetensors').write_bytes(evil)
    refused(tune_refused(data, models, '--models', tmp_path/'m.safetensors'), 'is not a steel_segmentation model file')
    assert not marker.exists()
    assert snapshot(tmp_path) == {'m.safetensors': evil}


# ---------------------------------------------------------------- steel-submit

def submit(data, model, out, *extra):
    return run('steel-submit', '--data', data, '--models', model, '--out', out, *extra)


def test_submit_model_for_other_class_count(data, models, tmp_path):
    refused(submit(data, models[2], tmp_path/'sub.csv'), 'the model is for 2 classes, but the data have 4',
            'from the largest ClassId in')
    assert files(tmp_path) == []


def test_submit_class_count_from_the_sample(data, models, tmp_path):
    d = copy_data(data, tmp_path)
    names = pd.read_csv(d/'sample_submission.csv').ImageId
    pd.DataFrame({'ImageId': np.repeat(names, 3), 'EncodedPixels': '1 1', 'ClassId': np.tile([1, 2, 3], len(names))}).to_csv(
        d/'sample_submission.csv', index=False)
    refused(submit(d, models[4], tmp_path/'sub.csv'), 'but the data have 3 (from the ClassId values of sample_submission.csv)')
    assert files(tmp_path) == ['data']


def test_submit_crafted_name_in_sample(data, models, tmp_path):
    d = copy_data(data, tmp_path)
    with open(d/'sample_submission.csv', 'a') as f: f.write('../../etc/passwd,1 1,0\n')
    refused(submit(d, models[4], tmp_path/'sub.csv'), "image name '../../etc/passwd' is not a plain file name")
    assert files(tmp_path) == ['data']


def test_submit_missing_test_image(data, models, tmp_path):
    d = copy_data(data, tmp_path)
    gone = sorted((d/'test_images').iterdir())[0]; gone.unlink()
    refused(submit(d, models[4], tmp_path/'sub.csv'), '1 image(s) of', gone.name)
    assert files(tmp_path) == ['data']


def test_submit_out_not_writable(data, models, tmp_path):
    ro = read_only_dir(tmp_path)
    held = files(ro)
    refused(submit(data, models[4], f'{ro}/sub.csv'), '--out', 'cannot be written')
    assert files(ro) == held and not (ro/'sub.csv').exists()


def test_submit_out_is_a_folder(data, models, tmp_path):
    (tmp_path/'sub').mkdir()
    refused(submit(data, models[4], tmp_path/'sub'), 'is a folder: give a file name')
    assert files(tmp_path/'sub') == []


@pytest.mark.parametrize('damage', ['truncated', 'bomb', 'png_bomb', 'text'])
def test_submit_damaged_test_image_leaves_nothing(data, models, tmp_path, damage):
    d = copy_data(data, tmp_path)
    img = sorted((d/'test_images').iterdir())[2]
    if damage == 'truncated': img.write_bytes(img.read_bytes()[:400])
    elif damage == 'bomb': jpeg_bomb(img)
    elif damage == 'png_bomb': png_bomb(img)
    else: img.write_text('not an image')
    out = tmp_path/'out'; out.mkdir()
    r = submit(d, models[4], out/'sub.csv', '--bs', '1')
    refused(r, img.name, *(['limit of 100,000,000 pixels', 'STEEL_MAX_PIXELS'] if 'bomb' in damage else []))
    if 'bomb' in damage: assert 'truncated' not in r.stderr, r.stderr
    assert files(out) == []


def test_submit_bad_format_and_batch(data, models, tmp_path):
    refused(submit(data, models[4], tmp_path/'sub.csv', '--format', 'xls'), 'unknown submission format')
    refused(submit(data, models[4], tmp_path/'sub.csv', '--bs', '0'), '--bs must be a whole number of at least 1')
    assert files(tmp_path) == []


def test_submit_missing_model(data, tmp_path):
    refused(submit(data, tmp_path/'none.safetensors', tmp_path/'sub.csv'), 'model file not found')
    assert files(tmp_path) == []


def test_submit_clean_run(data, models, tmp_path):
    "A normal run: no warning at all, the usual file mode, stale temporaries of a killed run removed, foreign files kept"
    out = tmp_path/'sub.csv'
    stale, other = tmp_path/f'.sub.csv.{dead_pid()}.x1y2.tmp', tmp_path/'.sub.csv.notes'
    stale.write_text('half'); other.write_text('mine')
    r = run('steel-submit', '--data', data, '--models', models[4], '--out', out, env={'PYTHONWARNINGS': 'default'})
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'warning' not in r.stderr.lower(), r.stderr[-3000:]
    assert files(tmp_path) == ['.sub.csv.notes', 'sub.csv']
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~current_umask()
    assert run('steel-submit', '--help').stderr == ''


# ---------------------------------------------------------------- steel-predict

def test_predict_second_image_damaged(data, models, tmp_path):
    imgs = sorted((data/'test_images').iterdir())[:2]
    bad = tmp_path/'bad.jpg'; bad.write_bytes(imgs[1].read_bytes()[:300])
    out = tmp_path/'pred'; out.mkdir(); (out/'mine.txt').write_text('keep')
    r = run('steel-predict', imgs[0], bad, '--model', models[4], '--out', out)
    refused(r, 'bad.jpg')
    assert files(out) == ['mine.txt']


def test_predict_not_an_image(models, tmp_path):
    (tmp_path/'notes.txt').write_text('hello')
    refused(run('steel-predict', tmp_path/'notes.txt', '--model', models[4], '--out', tmp_path/'pred'), 'notes.txt')
    assert files(tmp_path) == ['notes.txt'] and (tmp_path/'notes.txt').read_text() == 'hello'


def test_predict_out_is_a_file(data, models, tmp_path):
    (tmp_path/'pred').write_text('mine')
    img = sorted((data/'test_images').iterdir())[0]
    refused(run('steel-predict', img, '--model', models[4], '--out', tmp_path/'pred'), 'is a file: give a folder')
    assert (tmp_path/'pred').read_text() == 'mine'


def test_predict_missing_image(models, tmp_path):
    refused(run('steel-predict', tmp_path/'none.jpg', '--model', models[4], '--out', tmp_path/'pred'), 'image file not found')
    assert files(tmp_path) == []


# ---------------------------------------------------------------- flags as typed, steel-import, warnings

def test_flags_named_as_typed(masks, tmp_path):
    "A refused value names the flag the user typed, not the library's parameter"
    for size in ('1.5', '-0.1'):
        refused(run('steel-import', masks, tmp_path/'out', '--test-size', size),
                f'--test-size must be a share of the images from 0 to below 1, or a whole number of images, got {size}')
    assert not (tmp_path/'out').exists()


def test_import_mask_bomb(masks, tmp_path):
    png_bomb(sorted((masks/'masks').iterdir())[0])
    refused(run('steel-import', masks, tmp_path/'out'), 'pixels, more than the limit of', 'decompression bomb')
    assert not (tmp_path/'out').exists()


def test_import_cut_source_image(masks, tmp_path):
    fn = sorted((masks/'images').iterdir())[0]
    fn.write_bytes(fn.read_bytes()[:len(fn.read_bytes())//2])
    refused(run('steel-import', masks, tmp_path/'out'), f'cannot read image {fn}')
    assert not (tmp_path/'out').exists()


def test_import_overwrite_with_other_classes(masks, tmp_path):
    "--overwrite over an import with another class count replaces every file: the new dataset reads as it was imported"
    from steel_segmentation.data import read_labels, read_class_names
    out = tmp_path/'out'
    assert run('steel-import', masks, out, '--test-size', '2').returncode == 0
    r = run('steel-import', masks, out, '--classes', 'a,b,c,d', '--overwrite')
    assert r.returncode == 0, r.stderr[-2000:]
    assert read_class_names(out) == ['a', 'b', 'c', 'd'] and list(read_labels(out).columns) == ['ImageId', '1', '2', '3', '4']
    assert files(out/'test_images') == [] and not pd.read_csv(out/'test_labels.csv').shape[0]
    assert r.stderr.count('no masks at all') <= 1 and 'warning: no masks at all for d' in r.stdout + r.stderr


def test_warning_shown_once(data, tmp_path):
    "A dataset with a class that has no masks: one warning line, however many times the labels are read"
    d = copy_data(data, tmp_path)
    t = pd.read_csv(d/'train.csv')
    t[t.ClassId != 2].to_csv(d/'train.csv', index=False)
    r = train(d, tmp_path/'run')
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.count('no masks at all for class(es) 2') == 1, r.stderr


# ---------------------------------------------------------------- faults of the machine: Ctrl-C, SIGTERM, a full disk

def default_sigint():
    # a shell starts background jobs with Ctrl-C ignored, and a child inherits that: give it back its usual meaning
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(*args, cwd=None):
    "A command in its own process, its output (stdout and stderr together) read line by line"
    return subprocess.Popen([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                            preexec_fn=default_sigint)


def wait_for(p, text, timeout=300):
    "Read `p`'s output until a line holds `text` (or starts with it, for a tuple); the lines read"
    import time
    lines, t0 = [], time.time()
    for line in p.stdout:
        lines.append(line)
        if line.startswith(text) if isinstance(text, tuple) else text in line: return lines
        assert time.time() - t0 < timeout, ''.join(lines[-50:])
    raise AssertionError(f"{text!r} never came:\n{''.join(lines[-50:])}")


def temporaries(*folders):
    return [o for d in folders for o in Path(d).rglob('*') if o.name.endswith('.tmp')]


def stopped(p, sig, lines=()):
    "Send `sig`, wait for the end: (exit status, the whole output)"
    p.send_signal(sig)
    rest = p.stdout.read()
    p.wait(timeout=120)
    return p.returncode, ''.join(lines) + rest


def test_train_interrupted_then_resumed_and_one_run_per_folder(data, tmp_path):
    """Two runs into one folder: the second is refused while the first runs. Ctrl-C stops the first with one line and
    exit 130, leaving no temporaries; --resume continues it from its checkpoint (the lock went with the process)"""
    import signal
    out = tmp_path/'run'
    args = ('steel-train', '--data', data, '--encoder', 'resnet18', '--no-pretrained', '--no-check', '--epochs', '40',
            '--out', out)
    p = start(*args)
    try:
        lines = wait_for(p, 'elapsed') # the run holds its folder
        second = start(*args)
        lines += wait_for(p, ('1 ',)) # epoch 1 done: a checkpoint is written
        assert second.wait(timeout=300) == 2
        assert f'{out} is being written by another run (process {p.pid})' in second.stdout.read()
        code, text = stopped(p, signal.SIGINT, lines)
    finally: p.kill()
    assert code == 130, text[-3000:]
    assert 'Traceback' not in text and 'interrupted: steel-train stopped before it finished' in text, text[-3000:]
    assert 'run the same command with --resume' in text
    assert temporaries(out, tmp_path) == [] and (out/'checkpoint.pth').exists()
    r = run(*args, '--resume')
    assert r.returncode == 0, r.stderr[-3000:]
    log = pd.read_csv(out/'log.csv')
    assert log.epoch.tolist() == list(range(40)), log.epoch.tolist()
    assert not (tmp_path/'.run.lock').exists()


@pytest.fixture(scope='module')
def many_tests(data, tmp_path_factory):
    "The sample's data with 400 test images: a submission that takes a few seconds, time to interrupt it"
    d = tmp_path_factory.mktemp('many')/'data'
    shutil.copytree(data, d)
    names = sorted(os.listdir(d/'test_images'))
    rows = []
    for i in range(400):
        n = f'{i:05d}{names[i % len(names)]}'
        shutil.copyfile(d/'test_images'/names[i % len(names)], d/'test_images'/n)
        rows += [(n, '1 1', c) for c in range(1, 5)]
    pd.DataFrame(rows, columns=['ImageId', 'EncodedPixels', 'ClassId']).to_csv(d/'sample_submission.csv', index=False)
    return d


@pytest.mark.parametrize('sig, code', [('SIGTERM', 143), ('SIGKILL', -9)])
def test_submit_stopped(many_tests, models, tmp_path, sig, code):
    """SIGTERM during steel-submit: one line, exit 143, no submission, no temporary. SIGKILL: no line can be printed,
    but the next run into the same --out is neither blocked by the dead run's lock nor bothered by its temporary"""
    import signal
    out = tmp_path/'sub.csv'
    p = start('steel-submit', '--data', many_tests, '--models', models[4], '--out', out, '--bs', '1')
    try: got, text = stopped(p, getattr(signal, sig), wait_for(p, 'predicting: '))
    finally: p.kill()
    assert got == code, text[-3000:]
    assert not out.exists()
    if sig == 'SIGTERM':
        assert 'Traceback' not in text and 'interrupted: steel-submit stopped before it finished' in text, text[-3000:]
        assert temporaries(tmp_path) == []
    else:
        r = submit(many_tests, models[4], out)
        assert r.returncode == 0 and out.exists(), r.stderr[-3000:]
        assert temporaries(tmp_path) == [] and files(tmp_path) == ['sub.csv']


def limited(limit, *args):
    "A command whose files may not grow beyond `limit` bytes (RLIMIT_FSIZE): a full disk, as the command sees it"
    import resource
    def pre(): resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, preexec_fn=pre, timeout=600)


NO_ROOM = 'could not be written: no space left on the device (or a file-size limit was reached)'


def test_full_disk_train(data, tmp_path):
    "The model file does not fit: one line naming it, nothing half-written, no temporaries"
    out = tmp_path/'run'
    refused(limited(1_000_000, 'steel-train', '--data', data, '--encoder', 'resnet18', '--no-pretrained', '--no-check',
                    '--epochs', '1', '--out', out), f'{out/"model.safetensors"} {NO_ROOM}')
    assert files(out) == [] and temporaries(tmp_path) == []


def test_full_disk_submit_keeps_the_earlier_file(data, models, tmp_path):
    out = tmp_path/'sub.csv'
    out.write_text('the earlier submission\n')
    refused(limited(300, 'steel-submit', '--data', data, '--models', models[4], '--out', out), f'{out} {NO_ROOM}')
    assert out.read_text() == 'the earlier submission\n' and files(tmp_path) == ['sub.csv']


def test_full_disk_import(masks, tmp_path):
    out = tmp_path/'out'
    refused(limited(500, 'steel-import', masks, out), f'{out} {NO_ROOM}')
    assert files(tmp_path) == ['src']


def test_full_disk_tune_keeps_the_model(data, models, tmp_path):
    m = tmp_path/'m.safetensors'
    shutil.copyfile(models[4], m)
    before = m.read_bytes()
    refused(limited(len(before)//2, 'steel-tune', '--data', data, '--models', m, '--tta', 'none'), f'{m} {NO_ROOM}')
    assert m.read_bytes() == before and temporaries(tmp_path) == []


# ---------------------------------------------------------------- model files from elsewhere

def onnx_file(fn, classes=4, channels=3, cfg=None, external=None):
    """A small ONNX graph with the steel export's interface: uint8 (B, H, W, 3) `image` in, float (B, classes, H, W)
    `probs` out (the mean pixel value, for every class); metadata `cfg` (default: a configuration that matches it)"""
    import onnx
    from onnx import helper, TensorProto, numpy_helper
    from steel_segmentation.modelfile import ONNX_FORMAT, META_KEY
    scale = numpy_helper.from_array(np.array([1/255], np.float32), 'scale')
    if external:
        scale.ClearField('raw_data'); scale.data_location = TensorProto.EXTERNAL
        for k, v in (('location', external), ('offset', '0'), ('length', '4')):
            e = scale.external_data.add(); e.key, e.value = k, v
    nodes = [helper.make_node('Cast', ['image'], ['f'], to=TensorProto.FLOAT),
             helper.make_node('Mul', ['f', 'scale'], ['g']),
             helper.make_node('Transpose', ['g'], ['nchw'], perm=[0, 3, 1, 2]),
             helper.make_node('ReduceMean', ['nchw'], ['m'], axes=[1], keepdims=1),
             helper.make_node('Concat', ['m']*classes, ['probs'], axis=1)]
    g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('image', TensorProto.UINT8, ['b', 'h', 'w', channels])],
                          [helper.make_tensor_value_info('probs', TensorProto.FLOAT, ['b', classes, 'h', 'w'])], [scale])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
    cfg = {'classes': [str(c) for c in range(1, classes+1)], 'channels': channels, 'post': {'thresh': 0.5},
           'onnx_format': ONNX_FORMAT} if cfg is None else cfg
    if cfg is not False: m.metadata_props.add(key=META_KEY, value=__import__('json').dumps(cfg))
    onnx.save(m, str(fn))
    return fn


@pytest.fixture
def onnx_dir(tmp_path):
    d = tmp_path/'onnx'; d.mkdir()
    return d


def test_crafted_onnx_files(data, onnx_dir, tmp_path):
    "Each crafted .onnx file is refused before any inference with one line; the honest one writes a submission"
    pytest.importorskip('onnx')
    from steel_segmentation.modelfile import ONNX_FORMAT
    secret = tmp_path/'secret.bin'; secret.write_bytes(np.float32(1/255).tobytes())
    cases = [
        (onnx_file(onnx_dir/'external.onnx', external='../secret.bin'), 'keeps its weights in another file, outside its folder'),
        (onnx_file(onnx_dir/'absolute.onnx', external=str(secret)), 'keeps its weights in another file, outside its folder'),
        (onnx_file(onnx_dir/'foreign.onnx', cfg=False), 'an ONNX model without a steel_segmentation configuration'),
        (onnx_file(onnx_dir/'classes.onnx', cfg={'classes': ['1', '2'], 'channels': 3, 'onnx_format': ONNX_FORMAT}),
         'the graph outputs 4 classes, the configuration names 2'),
        (onnx_file(onnx_dir/'channels.onnx', cfg={'classes': list('1234'), 'channels': 1, 'onnx_format': ONNX_FORMAT}),
         'the graph takes 3-channel images, the configuration says 1'),
        (onnx_file(onnx_dir/'nojson.onnx', cfg='not a configuration'), 'unknown ONNX model format'),
    ]
    for fn, message in cases:
        refused(submit(data, fn, tmp_path/'sub.csv'), message)
        assert not (tmp_path/'sub.csv').exists()
    r = submit(data, onnx_file(onnx_dir/'honest.onnx'), tmp_path/'sub.csv')
    assert r.returncode == 0 and (tmp_path/'sub.csv').exists(), r.stderr[-2000:]


def test_safetensors_config_contradicts_tensors(data, models, tmp_path):
    "A model file whose configuration does not describe its tensors is refused with one line, nothing predicted"
    import json
    from safetensors.numpy import load_file, save_file
    from steel_segmentation.modelfile import read_config
    cfg, sd = read_config(models[4]), load_file(str(models[4]))
    for name, change, message in [('two', {'n_classes': 2, 'classes': ['1', '2']}, 'the weights do not fit the model'),
                                  ('grey', {'in_channels': 1}, 'the weights do not fit the model'),
                                  ('huge', {'n_classes': 10**9}, "impossible values (n_classes 1000000000)")]:
        fn = tmp_path/f'{name}.safetensors'
        save_file(sd, str(fn), metadata={'config': json.dumps({**cfg, **change})})
        refused(submit(data, fn, tmp_path/'sub.csv'), message)
        assert not (tmp_path/'sub.csv').exists()


# ---------------------------------------------------------------- many users of the app, a port in use

def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def test_app_port_in_use(models):
    import socket
    pytest.importorskip('gradio', reason='the app needs Gradio')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); s.listen(); port = s.getsockname()[1]
        r = run('steel-app', '--model', models[4], '--port', port, timeout=120)
    refused(r, f'--port {port} on 127.0.0.1 cannot be used', 'choose another with --port')
    assert r.stderr.count('\n') == 1, r.stderr


def test_app_many_users(models, tmp_path):
    """A burst of API calls at once: each gets its result or, beyond the queue, a clear answer that the app is busy; the
    app keeps serving, with no traceback"""
    import time, urllib.request
    from concurrent.futures import ThreadPoolExecutor
    pytest.importorskip('gradio', reason='the app needs Gradio')
    from gradio_client import Client, handle_file
    img = tmp_path/'big.png'
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (512, 1600, 3), np.uint8)).save(img)
    port, log = free_port(), tmp_path/'app.log'
    with open(log, 'w') as f:
        p = subprocess.Popen(['steel-app', '--model', str(models[4]), '--port', str(port), '--max-queue', '1',
                              '--threads', '1'], stdout=f, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}/'
    def call(_):
        try: return 'ok', Client(url, verbose=False).predict(handle_file(str(img)), api_name='/rle')
        except Exception as e: return 'refused', str(e)
    try:
        t = time.time()
        while True:
            assert p.poll() is None and time.time() - t < 180, log.read_text()[-3000:]
            try:
                if urllib.request.urlopen(url, timeout=2).status == 200: break
            except OSError: time.sleep(0.5)
        with ThreadPoolExecutor(8) as ex: res = list(ex.map(call, range(8)))
        ok, busy = [r for k, r in res if k == 'ok'], [r for k, r in res if k == 'refused']
        assert ok and all(r == ok[0] for r in ok) and ok[0]['image'] == 'big.png', res
        assert busy and all('queue is full' in r.lower() for r in busy), res
        assert call(0) == ('ok', ok[0]) and p.poll() is None # still serving
    finally:
        p.terminate()
        try: p.wait(20)
        except subprocess.TimeoutExpired: p.kill()
    assert 'Traceback' not in log.read_text(), log.read_text()[-3000:]
