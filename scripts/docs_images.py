"""Write the README's pictures into docs/images/: the data overview, a training batch, a training report, the demo's
report, the error analysis (gallery and curves) and the web app with its validation view, all from the built-in
synthetic sample (a few minutes on a CPU, offline).

Usage: python scripts/docs_images.py [--out docs/images] [--width 900]

Every picture is made by the library itself (`run_demo`, `SteelDataLoaders.show_batch`, `steel-analyse`, `steel-app`
in Chromium through Playwright), then shrunk to `--width` pixels as a small PNG."""
import argparse, shutil, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def shrink(src, dst, width):
    im = Image.open(src).convert('RGB')
    if im.width > width: im = im.resize((width, round(im.height*width/im.width)), Image.LANCZOS)
    im.quantize(256, method=Image.Quantize.FASTOCTREE).save(dst, optimize=True) # octree keeps the small colour swatches true
    print(f"{dst} ({dst.stat().st_size//1024} KB)")


def app_screenshot(model, data, png, valid_png):
    from playwright.sync_api import sync_playwright
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    if not chromium: raise SystemExit("Chromium is needed for the app picture: apt-get install -y chromium")
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    p = subprocess.Popen(['steel-app', '--model', str(model), '--labels', str(data/'test_labels.csv'), '--examples', str(data/'test_images'),
                          '--port', str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f'http://127.0.0.1:{port}/'
    try:
        for _ in range(360):
            try:
                if urllib.request.urlopen(url, timeout=2).status == 200: break
            except OSError: time.sleep(0.5)
        from steel_segmentation.data import read_rle_csv
        img = data/'test_images'/read_rle_csv(data/'test_labels.csv')[0].ImageId.iloc[0] # an image with a defect
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=chromium, headless=True, args=['--no-sandbox'])
            page = b.new_page(viewport={'width': 1400, 'height': 1000})
            page.goto(url)
            page.wait_for_selector('#upload input[type=file]', state='attached', timeout=60000)
            page.locator('#upload input[type=file]').set_input_files(str(img))
            page.wait_for_function("document.querySelector('#areas').innerText.includes('true area')", timeout=120000)
            page.screenshot(path=str(png), full_page=True)
            page.get_by_role('tab', name='validation').click()
            page.wait_for_selector('#v-table', timeout=60000)
            page.screenshot(path=str(valid_png), full_page=True)
            b.close()
    finally:
        p.terminate(); p.wait(20)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(ROOT/'docs'/'images'))
    ap.add_argument('--width', type=int, default=800)
    args = ap.parse_args()
    from steel_segmentation.demo import run_demo
    from steel_segmentation.dataloaders import SteelDataLoaders
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        r = run_demo(d/'demo', verbose=False) # what steel-demo does with its defaults
        demo = d/'demo'
        dls = SteelDataLoaders.from_path(demo/'sample', bs=4, crop=(64, 256), p_defect=1., balanced=True) # crops on defects, classes drawn equally often
        dls.show_batch(max_n=4, figsize=(10, 4))
        plt.savefig(d/'batch.png', dpi=90, bbox_inches='tight'); plt.close('all')
        app_screenshot(demo/'seg'/'model.safetensors', demo/'sample', d/'app.png', d/'app_validation.png')
        subprocess.run(['steel-analyse', '--data', str(demo/'sample'), '--models', str(demo/'seg'/'model.safetensors'),
                        '--out', str(d/'analysis'), '--n-gallery', '6'], check=True, stdout=subprocess.DEVNULL)
        for src, name in ((demo/'data.png', 'data.png'), (d/'batch.png', 'show_batch.png'), (demo/'seg'/'report.png', 'training.png'),
                          (demo/'report.png', 'demo.png'), (d/'app.png', 'app.png'),
                          (d/'app_validation.png', 'app_validation.png'), (d/'analysis'/'gallery.png', 'gallery.png'),
                          (d/'analysis'/'curves.png', 'curves.png')):
            shrink(src, out/name, args.width)
        print(f"demo score {r['score']:.4f} (all-empty {r['empty']:.4f})")


if __name__ == '__main__': main()
