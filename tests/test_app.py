"`steel-app` in a real browser: Debian's Chromium, headless, driven by Playwright (its own browser download cannot work offline)."
import os, re, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT

pytest.importorskip('gradio', reason='the app needs Gradio: pip install -e ".[dev]"')
sync_api = pytest.importorskip('playwright.sync_api', reason='the browser test needs Playwright: pip install -e ".[dev]"')
CHROMIUM = os.environ.get('STEEL_CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def app(trained, tmp_path_factory):
    if not CHROMIUM: pytest.skip("Chromium is not installed (apt-get install -y chromium), so the browser test cannot run")
    d, data, model = trained
    port, log = free_port(), tmp_path_factory.mktemp('app')/'app.log'
    with open(log, 'w') as f:
        p = subprocess.Popen(['steel-app', '--model', str(model), '--labels', str(data/'test_labels.csv'), '--examples', str(data/'test_images'),
                              '--port', str(port), '--max-pixels', '100000'], stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f'http://127.0.0.1:{port}/'
    try:
        t = time.time()
        while True:
            assert p.poll() is None, f"steel-app ended: {log.read_text()[-3000:]}"
            assert time.time() - t < 180, f"steel-app did not answer in 3 minutes: {log.read_text()[-3000:]}"
            try:
                if urllib.request.urlopen(url, timeout=2).status == 200: break
            except OSError: time.sleep(0.5)
        yield url, data, model
    finally:
        p.terminate()
        try: p.wait(20)
        except subprocess.TimeoutExpired: p.kill()


def found_defect(data, model):
    "A test image and a class that has a true defect the model finds (read from the Python API, then checked in the page)"
    from steel_segmentation.data import read_labels, get_masks
    from steel_segmentation.predictor import load_predictor
    pred = load_predictor([model])
    truth = read_labels(data, 'test_labels.csv', 'test_images', n_classes=pred.n_classes)
    for i, name in enumerate(truth.ImageId):
        m, t = pred.predict(np.asarray(__import__('steel_segmentation.images', fromlist=['read_image']).read_image(data/'test_images'/name))[None])[0], get_masks(truth, i)
        for c in range(len(m)):
            if t[c].any() and (m[c] & (t[c] != 0)).any(): return name, pred.classes[c]
    pytest.fail("the trained model finds none of the true defects of the test images")


HEADERS = ['class', 'name', 'area (px)', 'area (%)', 'true area (px)', 'Dice']


def table_rows(page):
    "The area table as the page shows it: its text after the headers, one row per class"
    cells = [o.strip() for o in page.locator('#areas').inner_text().split('\n') if o.strip()]
    i = next(i for i in range(len(cells)) if cells[i:i+len(HEADERS)] == HEADERS) + len(HEADERS)
    return [cells[j:j+len(HEADERS)] for j in range(i, len(cells), len(HEADERS))]


def test_app_in_chromium(app, tmp_path):
    url, data, model = app
    name, cls = found_defect(data, model)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox'])
        try:
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            page.goto(url)
            page.wait_for_selector('#upload input[type=file]', state='attached', timeout=60000)
            t = time.time()
            page.locator('#upload input[type=file]').set_input_files(str(data/'test_images'/name))
            page.wait_for_selector('#overlay img', timeout=120000)
            page.wait_for_function("document.querySelector('#status') && document.querySelector('#status').innerText.includes(%r)" % name, timeout=120000)
            page.wait_for_function("document.querySelector('#areas').innerText.includes('true area')", timeout=60000)
            print(f"upload to overlay: {time.time() - t:.1f} s")
            page.screenshot(path=str(tmp_path/'prediction.png'), full_page=True)
            rows = table_rows(page)
            row = next((r for r in rows if r and r[0] == str(cls)), None)
            assert row is not None, f"no row for class {cls} in the area table: {rows}"
            assert int(row[2]) > 0, f"class {cls} has a true defect in {name}, the page shows an area of {row[2]}: {rows}"
            assert page.locator('#truth img').count() == 1, "the image is in --labels: the true masks are shown"
            assert re.search(rf'^{cls} \(', page.locator('#rle textarea').input_value(), re.M)
            from PIL import Image
            (tmp_path/'notes.txt').write_text('not an image')
            Image.new('RGBA', (64, 48)).save(tmp_path/'alpha.png')
            Image.new('L', (400, 400)).save(tmp_path/'big.png') # 160,000 pixels: over the app's --max-pixels 100000
            for fn, msg in (('notes.txt', 'notes.txt is not an image this app can read'), ('alpha.png', 'alpha.png has 4 channels (RGBA)'),
                            ('big.png', "more than this app's limit of 100,000")):
                page.goto(url) # a fresh page: the upload box holds the previous file
                page.wait_for_selector('#upload input[type=file]', state='attached', timeout=60000)
                page.locator('#upload input[type=file]').set_input_files(str(tmp_path/fn))
                page.wait_for_function("document.querySelector('#status').innerText.includes('Refused')", timeout=60000)
                status = page.locator('#status').inner_text()
                assert msg in status and 'Traceback' not in page.content(), status
                page.screenshot(path=str(tmp_path/f'refused_{Path(fn).stem}.png'), full_page=True)
        finally: browser.close()
    assert (tmp_path/'prediction.png').stat().st_size > 10000 and len(list(tmp_path.glob('refused_*.png'))) == 3


def test_app_http_api(app):
    "The call the app's notebook documents: the RLE of an image through gradio_client, the same as the library's own prediction"
    from gradio_client import Client, handle_file
    from steel_segmentation.rle import mask2rle
    from steel_segmentation.images import read_image
    from steel_segmentation.predictor import load_predictor
    url, data, model = app
    fn = sorted((data/'test_images').iterdir())[0]
    res = Client(url, verbose=False).predict(handle_file(str(fn)), api_name='/rle')
    pred = load_predictor([model])
    want = {str(c): mask2rle(m) for c, m in zip(pred.classes, pred.predict(read_image(fn)[None])[0])}
    assert res == {'image': fn.name, 'masks': want}


ROWS = '#v-table [role=row].virtual-row' # Gradio draws the rows in view of a long list, each a row of grid cells


def view_rows(page):
    "The rows of the validation list as drawn: [image, class, Dice, outcome, true area, predicted area]"
    rows = [[c.strip() for c in r.locator('[role=gridcell]').all_inner_texts()] for r in page.locator(ROWS).all()]
    return [r for r in rows if len(r) == 6]


def wait_rows(page, ok, what, timeout=60):
    "The list's rows once `ok(rows)` holds (the list is redrawn after each choice)"
    t, rows = time.time(), []
    while time.time() - t < timeout:
        rows = view_rows(page)
        if rows and ok(rows): return rows
        time.sleep(0.3)
    pytest.fail(f"the validation list never showed {what}: {rows}")


def choose(page, elem, value):
    page.locator(f'#{elem} input').click()
    page.get_by_role('option', name=value, exact=True).click()


def test_validation_view(app, tmp_path):
    "Started with --labels, the app lists every (image, class) pair by Dice: sorted, filtered, and a row opens its image"
    url, data, model = app
    from steel_segmentation.analysis import analysis_pass
    from steel_segmentation.data import read_labels, get_masks
    from steel_segmentation.predictor import load_predictor
    pred = load_predictor([model])
    t = read_labels(data, 'test_labels.csv', 'test_images', n_classes=pred.n_classes)
    want = analysis_pass(pred, [data/'test_images'/o for o in t.ImageId], lambda i: get_masks(t, i), progress=False)['pairs']
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox'])
        try:
            page = browser.new_page(viewport={'width': 1400, 'height': 1400})
            page.goto(url)
            page.get_by_role('tab', name='validation').click()
            page.wait_for_selector(ROWS, timeout=60000)
            rows = wait_rows(page, lambda r: True, 'any row')
            dice = [float(r[2]) for r in rows]
            assert dice == sorted(dice), f"not worst first: {dice}"
            assert dice[0] == pytest.approx(want.dice.min(), abs=1e-4)
            name = str(pred.class_names[0])
            choose(page, 'v-class', name)
            rows = wait_rows(page, lambda r: all(o[1] == name for o in r), f'only class {name}')
            assert len(rows) == len(t) and rows[0][0] in set(t.ImageId)
            choose(page, 'v-outcome', 'true empty')
            n_empty = int(((want['name'].astype(str) == name) & (want.outcome == 'true empty')).sum())
            if n_empty: wait_rows(page, lambda r: all(o[3] == 'true empty' and o[1] == name for o in r), 'only true empty pairs')
            choose(page, 'v-outcome', 'all outcomes')
            page.get_by_label('best first').check()
            rows = wait_rows(page, lambda r: [float(o[2]) for o in r] == sorted((float(o[2]) for o in r), reverse=True) and
                             len(r) > 1 and float(r[0][2]) >= float(r[-1][2]), 'best first')
            page.screenshot(path=str(tmp_path/'validation.png'), full_page=True)
            worst = rows[-1][0]
            page.locator(f'#v-table [data-testid="cell-{len(rows) - 1}-0"]').click()
            page.wait_for_function("document.querySelector('#status') && document.querySelector('#status').innerText.includes(%r)"
                                   % worst, timeout=120000)
            page.wait_for_selector('#overlay img', timeout=60000)
            assert page.locator('#truth img').count() == 1, "an image of the list opens with its truth beside it"
            assert 'true masks from the labels' in page.locator('#status').inner_text()
            page.screenshot(path=str(tmp_path/'opened.png'), full_page=True)
        finally: browser.close()
