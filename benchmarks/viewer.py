"""The browser viewer's frame time: WebGL2 in headless Chromium, on SwiftShader (the CPU).

    .venv/bin/python benchmarks/viewer.py [--size 512] [--frames 9] [--trees DIR] [--normals]
                                          [--baseline REV] [--no-python]

Trees: the reference implementation's 1,958-leaf bunny (imported with ``shapetree import-treed``;
its own JavaScript CPU renderer takes 0.67 s for a 512x512 frame) and a 16,384-leaf tree of
data/bunny.off (``shapetree build --seed 0``, about a minute; cached in ``--trees``, default
out/bench-trees); with ``--normals`` also a 4,096-leaf normal map of it (fitted once, cached), at
512x512 and 1920x1080.

What a frame's time is: ``shapetreeViewer.renderFrame()`` -> ``TreeRenderer.draw``, from its start
until a 1-pixel ``readPixels`` returns, which waits for SwiftShader to finish the frame (Chromium
offers no timer queries on SwiftShader, and ``gl.finish`` does not wait); no full readback, no
screenshot, no compositing. The median of ``--frames`` frames after 3 warm-up frames.

The machine is shared, so wall-clock alone means little; in the same run, round-robin with the
viewer's frames (so every one sees the same load):
- ``python``: the Python ray caster (``shapetree.render``, numba, all cores) on the same tree,
  camera and size; ``ratio`` = viewer frame / Python frame;
- ``--baseline REV``: the viewer's static files of git revision REV (served to a second page of the
  same browser), e.g. the commit before a speed-up: ``vs REV`` = this frame / REV's frame;
- ``GPU CPU``: CPU time of its own Chromium GPU process (where SwiftShader's threads run) per frame,
  summed over its threads (two here: SwiftShader uses both cores); it grows less with load than
  wall-clock, though not nothing (spinning workers, shared caches);
- the load average before and after.
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
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REFERENCE, ROOT, machine

import shapetree
from shapetree.renderer import orbit_camera
from shapetree.viewer.server import ViewerServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
TARGETS = {"reference-1958": 0.1, "bunny-16384": 0.3}
STATIC = "src/shapetree/viewer/static"
MODES = {"flat": ("{normalMap: false, heatmap: false}", {}),
         "heatmap": ("{normalMap: false, heatmap: true}", {"heatmap": True}),
         "normal map": ("{normalMap: true, heatmap: false}", None)}


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


def our_gpu_processes() -> list[Path]:
    """/proc folders of the Chromium GPU processes this benchmark started (other sessions' browsers
    on the machine are not descendants of this process)."""
    me = os.getpid()
    found = []
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        folder = Path(cmdline).parent
        try:
            if b"--type=gpu-process" not in Path(cmdline).read_bytes():
                continue
            pid = int(folder.name)
            while pid > 1 and pid != me:
                pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if pid == me:
            found.append(folder)
    return found


def gpu_process_cpu_ms() -> float:
    """CPU milliseconds used so far by our Chromium GPU process (where SwiftShader runs)."""
    total = 0
    for folder in our_gpu_processes():
        try:
            fields = (folder / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total * 1000 / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def gpu_thread_cpu_ms() -> dict[str, float]:
    """CPU milliseconds so far of each thread of Chromium's GPU processes, by thread id."""
    out = {}
    for folder in our_gpu_processes():
        try:
            for stat in folder.glob("task/*/stat"):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                out[stat.parent.name] = (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return out


def revision_files(rev: str) -> dict[str, bytes]:
    """The viewer's static files at git revision ``rev``: {path under static/: bytes}."""
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", rev, STATIC + "/"],
                           check=True, capture_output=True, text=True).stdout.split()
    return {n[len(STATIC) + 1:]: subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{n}"], check=True,
                                                capture_output=True).stdout for n in names}


def open_page(browser, url: str, files: dict[str, bytes] | None = None):
    page = browser.new_page()
    for rel, body in (files or {}).items():
        ctype = "text/javascript" if rel.endswith(".js") else "text/plain"
        page.route(f"**/{rel}", lambda route, _request=None, body=body, ctype=ctype:
                   route.fulfill(body=body, content_type=ctype))
    page.goto(url)
    page.evaluate("shapetreeViewer.ready")
    return page


def measure(runs: dict, frames: int) -> dict[str, dict[str, float]]:
    """Round-robin: each callable ``frames`` times after 3 warm-ups; {name: {median ms, cpu ms}}.
    A callable returns its own frame time in ms (or None: timed here)."""
    for fn in runs.values():
        for _ in range(3):
            fn()
    ms = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    for _ in range(frames):
        for name, fn in runs.items():
            c0, t0 = gpu_process_cpu_ms(), time.perf_counter()
            own = fn()
            ms[name].append(own if own is not None else 1000 * (time.perf_counter() - t0))
            cpu[name].append(gpu_process_cpu_ms() - c0)
    return {name: {"ms": statistics.median(ms[name]), "best": min(ms[name]), "cpu": statistics.mean(cpu[name])}
            for name in runs}


def python_frame(tree, camera, size, options):
    """A callable rendering one frame with the Python ray caster (timed by ``measure``)."""
    def frame() -> None:
        shapetree.render(tree, camera, size, **options)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=9)
    parser.add_argument("--trees", type=Path, default=ROOT / "out" / "bench-trees")
    parser.add_argument("--normals", action="store_true", help="also a normal map, at SIZE and 1920x1080")
    parser.add_argument("--baseline", metavar="REV", help="also time the viewer of this git revision")
    parser.add_argument("--no-python", action="store_true", help="do not time the Python renderer")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    print(f"machine: {machine()}")
    print(f"before: {load_average()}")
    baseline = revision_files(args.baseline) if args.baseline else None
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as p:
        models = trees(args.trees, args.normals, Path(scratch))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        printed = False
        for name, (model, normals) in models.items():
            tree = shapetree.load(model)
            normal_trees = shapetree.read_trees(normals) if normals else None
            with ViewerServer([model], normals).start() as server:
                url = f"{server.url}?size={args.size}x{args.size}"
                pages = {"viewer": open_page(browser, url)}
                if baseline:
                    pages[args.baseline] = open_page(browser, url, baseline)
                if not printed:
                    renderer = pages["viewer"].evaluate("""(() => { const gl = document.createElement('canvas')
                        .getContext('webgl2'); const i = gl.getExtension('WEBGL_debug_renderer_info');
                        return i ? gl.getParameter(i.UNMASKED_RENDERER_WEBGL) : 'unknown'; })()""")
                    print(f"browser: Chromium {browser.version}, {renderer}")
                    printed = True
                threads0 = gpu_thread_cpu_ms()
                sizes = [(args.size, args.size)] + ([(1920, 1080)] if normals else [])
                for w, h in sizes:
                    for mode, (js, options) in MODES.items():
                        if mode == "normal map":
                            if normals is None:
                                continue
                            options = {"normal_trees": normal_trees}
                        elif (w, h) != sizes[0]:
                            continue
                        runs = {}
                        for label, page in pages.items():
                            page.evaluate(f"shapetreeViewer.setSize({w}, {h})")
                            page.evaluate(f"shapetreeViewer.setMode({js})")
                            runs[label] = lambda page=page: page.evaluate("shapetreeViewer.renderFrame()")["ms"]
                        if not args.no_python:
                            camera = orbit_camera(tree.bounds)
                            runs["python"] = python_frame(tree, camera, (w, h), options)
                        frames = args.frames if (w, h) == sizes[0] else max(3, args.frames // 3)
                        r = measure(runs, frames)
                        v = r["viewer"]
                        leaves = pages["viewer"].evaluate("shapetreeViewer.status().leaves")
                        line = (f"{name:15s} {leaves:6d} leaves {w}x{h} {mode:10s} median {v['ms']:7.1f} ms"
                                f"  best {v['best']:7.1f}  GPU CPU {v['cpu']:7.1f} ms")
                        if "python" in r:
                            line += f"  python {r['python']['ms']:7.1f} ms (ratio {v['ms'] / r['python']['ms']:.2f})"
                        if baseline:
                            b = r[args.baseline]
                            line += (f"  {args.baseline} {b['ms']:7.1f} ms, GPU CPU {b['cpu']:7.1f}"
                                     f" (vs {args.baseline} {v['ms'] / b['ms']:.2f})")
                        target = TARGETS.get(name) if mode == "flat" and (w, h) == (512, 512) else None
                        if target is not None:
                            line += f"  target <= {target:.1f} s: " + ("met" if v["ms"] / 1000 <= target else "NOT met")
                        if (w, h) == (1920, 1080):
                            line += f"  ({1000 / v['ms']:.1f} fps on SwiftShader)"
                        print(line, flush=True)
                spent = sorted((ms - threads0.get(t, 0.0) for t, ms in gpu_thread_cpu_ms().items()), reverse=True)
                total = sum(spent)
                busy = [f"{100 * ms / total:.0f}%" for ms in spent if ms > 0.05 * total]
                print(f"{name}: the GPU process's CPU time by thread: {', '.join(busy)} "
                      "(threads with over 5%: SwiftShader's workers)", flush=True)
                for page in pages.values():
                    page.close()
        browser.close()
    print(f"after: {load_average()}")


if __name__ == "__main__":
    main()
