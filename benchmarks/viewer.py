"""The browser viewer's frame time: WebGL2 in headless Chromium, on SwiftShader (the CPU).

    .venv/bin/python benchmarks/viewer.py [--size 512] [--frames 15] [--trees DIR] [--normals]

Trees: the reference implementation's 1,958-leaf bunny (imported with ``shapetree import-treed``;
its own JavaScript CPU renderer takes 0.67 s for a 512x512 frame) and a 16,384-leaf tree of
data/bunny.off (``shapetree build --seed 0``, about a minute; cached in ``--trees``, default
out/bench-trees). For each tree and mode (flat shading; heatmap; with ``--normals`` also a
4,096-leaf normal map fitted once and cached, at 512x512 and 1920x1080): the median and the best
of ``--frames`` frames after 3 warm-up frames, each drawn by ``shapetreeViewer.renderFrame()``
and timed in the page until the GPU has finished it; and the CPU time Chromium's GPU process
spent per frame (SwiftShader's threads), which a busy machine does not inflate.
Targets (issue 12): 512x512 <= 0.1 s for the 1,958-leaf tree, <= 0.3 s for the 16,384-leaf one.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REFERENCE, ROOT, machine

from shapetree.viewer.server import ViewerServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
TARGETS = {"reference-1958": 0.1, "bunny-16384": 0.3}


def shapetree_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "shapetree", *args], check=True, stdout=subprocess.DEVNULL)


def trees(folder: Path, with_normals: bool, scratch: Path) -> dict[str, tuple[Path, Path | None]]:
    folder.mkdir(parents=True, exist_ok=True)
    reference = scratch / "reference-1958.stree"
    shapetree_cli("import-treed", str(REFERENCE / "treed_bunny_1958.bin"), "-o", str(reference))
    big = folder / "viewer-bunny-16384-seed0.stree"
    if not big.exists():
        print(f"building {big} (about a minute, once)", flush=True)
        shapetree_cli("build", str(ROOT / "data" / "bunny.off"), "-o", str(big), "--max-leaves", "16384",
                      "--seed", "0", "--quiet")
    normals = None
    if with_normals:
        normals = folder / "viewer-bunny-16384-seed0-normals.stree"
        if not normals.exists():
            print(f"fitting {normals} (once)", flush=True)
            shapetree_cli("normals", str(big), str(ROOT / "data" / "bunny.off"), "-o", str(normals), "--seed", "0")
    return {"reference-1958": (reference, None), "bunny-16384": (big, normals)}


def gpu_process_cpu_ms() -> float:
    """CPU milliseconds used so far by Chromium's GPU processes (where SwiftShader runs)."""
    total = 0
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            if b"--type=gpu-process" not in Path(cmdline).read_bytes():
                continue
            fields = Path(cmdline).with_name("stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total * 1000 / os.sysconf("SC_CLK_TCK")


def measure(page, frames: int) -> tuple[float, float, float, int]:
    """(median ms, best ms, GPU-process CPU ms per frame, leaves) of ``frames`` frames after warm-up."""
    for _ in range(3):
        page.evaluate("shapetreeViewer.renderFrame()")
    cpu0 = gpu_process_cpu_ms()
    ms = [page.evaluate("shapetreeViewer.renderFrame()")["ms"] for _ in range(frames)]
    cpu = (gpu_process_cpu_ms() - cpu0) / frames
    return statistics.median(ms), min(ms), cpu, page.evaluate("shapetreeViewer.status().leaves")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=15)
    parser.add_argument("--trees", type=Path, default=ROOT / "out" / "bench-trees")
    parser.add_argument("--normals", action="store_true", help="also a normal map, at 512 and 1920x1080")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as scratch:
        models = trees(args.trees, args.normals, Path(scratch))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page()
            renderer = None
            for name, (model, normals) in models.items():
                with ViewerServer([model], normals).start() as server:
                    page.goto(f"{server.url}?size={args.size}x{args.size}")
                    page.evaluate("shapetreeViewer.ready")
                    if renderer is None:
                        renderer = page.evaluate("""(() => { const gl = document.createElement('canvas')
                            .getContext('webgl2'); const i = gl.getExtension('WEBGL_debug_renderer_info');
                            return i ? gl.getParameter(i.UNMASKED_RENDERER_WEBGL) : 'unknown'; })()""")
                        print(f"browser: Chromium {browser.version}, {renderer}")
                    modes = {"flat": "{normalMap: false, heatmap: false}", "heatmap": "{heatmap: true}"}
                    if normals is not None:
                        modes["normal map"] = "{normalMap: true, heatmap: false}"
                    for mode, js in modes.items():
                        page.evaluate(f"shapetreeViewer.setMode({js})")
                        median, best, cpu, leaves = measure(page, args.frames)
                        target = TARGETS.get(name) if mode == "flat" and args.size == 512 else None
                        verdict = "" if target is None else f"  target <= {target:.1f} s: " + (
                            "met" if median / 1000 <= target else "NOT met")
                        print(f"{name:15s} {leaves:6d} leaves {args.size}x{args.size} {mode:10s} median {median:7.1f} ms"
                              f"  best {best:7.1f} ms  GPU-process CPU {cpu:7.1f} ms/frame{verdict}", flush=True)
                    if normals is not None:
                        page.evaluate("shapetreeViewer.setSize(1920, 1080)")
                        page.evaluate("shapetreeViewer.setMode({normalMap: true, heatmap: false})")
                        median, best, cpu, leaves = measure(page, max(3, args.frames // 3))
                        print(f"{name:15s} {leaves:6d} leaves 1920x1080 normal map median {median:7.1f} ms"
                              f"  best {best:7.1f} ms  GPU-process CPU {cpu:7.1f} ms/frame "
                              f"({1000 / median:.1f} fps on SwiftShader)", flush=True)
            browser.close()


if __name__ == "__main__":
    main()
