"""Time from upload to overlay in `steel-app`, in headless Chromium, for a full-size 256x1600 image.

Usage: python benchmarks/bench_app.py [--rounds 3]

An untrained U-Net/resnet18 (the timing does not depend on the weights), served once from its .safetensors file and
once from its exported .onnx file; each round loads the page afresh, uploads the image and waits until the overlay and
the area table are shown. Prints the median per model file and the ratio."""
import argparse, shutil, socket, statistics, subprocess, tempfile, time, urllib.request
from pathlib import Path

import torch
from playwright.sync_api import sync_playwright

from steel_segmentation.onnx import export_onnx
from steel_segmentation.models import create_model, save_model, model_config
from steel_segmentation.sample import sample_path


def serve(model, port):
    p = subprocess.Popen(['steel-app', '--model', str(model), '--port', str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(360):
        try:
            if urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=2).status == 200: return p
        except OSError: time.sleep(0.5)
    p.kill(); raise SystemExit(f"steel-app did not start for {model}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=3)
    args = ap.parse_args()
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    img = sorted((sample_path()/'test_images').iterdir())[0] # 256x1600
    res = {}
    with tempfile.TemporaryDirectory() as d:
        torch.manual_seed(0)
        st = save_model(create_model('unet', 'resnet18', 4, pretrained=False).eval(), Path(d)/'m.safetensors', model_config('seg', 'unet', 'resnet18', 4))
        ox = export_onnx([st], Path(d)/'m.onnx')['out']
        for model in (st, ox):
            with socket.socket() as s:
                s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
            p = serve(model, port)
            times = []
            try:
                with sync_playwright() as pw:
                    b = pw.chromium.launch(executable_path=chromium, headless=True, args=['--no-sandbox'])
                    for _ in range(args.rounds):
                        page = b.new_page(viewport={'width': 1400, 'height': 1000})
                        page.goto(f'http://127.0.0.1:{port}/')
                        page.wait_for_selector('#upload input[type=file]', state='attached', timeout=60000)
                        t = time.perf_counter()
                        page.locator('#upload input[type=file]').set_input_files(str(img))
                        page.wait_for_selector('#overlay img', timeout=120000)
                        page.wait_for_function("document.querySelector('#areas').innerText.includes('area (px)')", timeout=120000)
                        times.append(time.perf_counter() - t)
                        page.close()
                    b.close()
            finally: p.terminate(); p.wait(20)
            res[model.suffix] = statistics.median(times)
            print(f"{model.name}: upload to overlay {res[model.suffix]:.2f} s (median of {args.rounds}; rounds {', '.join(f'{o:.2f}' for o in times)})", flush=True)
    print(f"ratio safetensors/onnx: {res['.safetensors']/res['.onnx']:.2f}")


if __name__ == '__main__': main()
