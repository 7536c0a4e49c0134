"""The portal's first screen on a phone: time to the first meaningful paint, beside a bare page.

    uv run python benchmarks/portal.py [--runs 7] [--cpu-slowdown 1]
                                       [--out benchmarks/results/portal.json]

A fresh workspace (only its ops database: the portal's home needs no city data) is served by
``citybrain serve`` in its own process. Debian's Chromium, headless, driven by Playwright, opens
``/portal/`` on the phone profile (390×844 CSS px, device scale 2, touch, mobile) in a new
browser context each run, so every run starts with an empty cache, as a resident's first visit
does. Measured from navigation start:

- ``first_contentful_paint``: the browser's own ``first-contentful-paint`` entry;
- ``first_meaningful_paint``: the home screen drawn and usable (``main[data-ready='1']`` with its
  task tiles; the portal sets it once the screen is rendered and its handlers are attached), taken
  at the next animation frame after it appears, i.e. when it is on screen;
- the same page again in the same context (``warm``: cached assets, a returning visitor).

Reference in the same run, same browser and profile: a bare page from the same server (``GET
/health``, a few bytes of JSON: navigation, connection and first paint and nothing of the portal).
``--cpu-slowdown N`` throttles the page's CPU N times through the DevTools protocol (a slow phone);
the default, 1, is this machine's speed. The machine is shared: the load average is in the JSON,
and a figure taken under load is an upper bound, not the portal's speed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from webserver import serve

from citybrain.core import Workspace
from citybrain.core.opsdb import upgrade

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}  # fmt: skip
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip
TARGET_MS = 1500
WAIT_MS = 120_000
READY = "main[data-ready='1'] #go-report"
# Navigation start → now, after the next frame (what was just inserted is painted by then).
PAINTED = (
    "() => new Promise(r => requestAnimationFrame(() => setTimeout(() => r(performance.now()))))"
)
FCP = (
    "() => (performance.getEntriesByName('first-contentful-paint')[0] || {startTime: null})"
    ".startTime"
)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
        "n": len(ordered),
    }


def _open(page: Any, url: str, selector: str | None) -> tuple[float, float | None]:
    """(ms to ``selector`` painted — or to the load event without one, the page's FCP)."""
    page.goto(url, wait_until="commit" if selector else "load")
    if selector:
        page.wait_for_selector(selector, timeout=WAIT_MS)
    painted = float(page.evaluate(PAINTED))
    fcp = page.evaluate(FCP)
    return painted, None if fcp is None else float(fcp)


def measure(url: str, runs: int, slowdown: float, chromium: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    series: dict[str, list[float]] = {k: [] for k in (
        "portal_first_meaningful_paint", "portal_first_contentful_paint",
        "portal_warm_first_meaningful_paint", "bare_page_loaded", "bare_page_first_paint",
    )}  # fmt: skip
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for run in range(runs + 1):  # run 0 warms the server and the OS file cache: not counted
            context = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                has_touch=True,
            )  # fmt: skip
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            if slowdown > 1:
                cdp = context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
            bare, bare_fcp = _open(page, f"{url}/health", None)
            cold, cold_fcp = _open(page, f"{url}/portal/", READY)
            page.goto("about:blank")
            warm, _ = _open(page, f"{url}/portal/", READY)
            context.close()
            if run == 0:
                continue
            series["bare_page_loaded"].append(bare)
            if bare_fcp is not None:
                series["bare_page_first_paint"].append(bare_fcp)
            series["portal_first_meaningful_paint"].append(cold)
            if cold_fcp is not None:
                series["portal_first_contentful_paint"].append(cold_fcp)
            series["portal_warm_first_meaningful_paint"].append(warm)
        browser.close()
    if errors:
        raise SystemExit(f"the portal page failed: {errors[:3]}")
    return {name: summary(values) for name, values in series.items() if values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cpu-slowdown", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/portal.json"))
    args = parser.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    root = Path(tempfile.mkdtemp(prefix="citybrain-portal-bench-")) / "ws"
    workspace = Workspace.init(root)
    upgrade(workspace.ops_db_url)
    load_before = os.getloadavg()
    process, url = serve(root)
    try:
        results = measure(url, args.runs, args.cpu_slowdown, chromium)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(root.parent, ignore_errors=True)
    fmp = results["portal_first_meaningful_paint"]["median_ms"]
    report = {
        "benchmark": "portal",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "versions": {name: importlib.metadata.version(name) for name in ("citybrain", "playwright")}
        | {
            "chromium": subprocess.run(
                [chromium, "--version"], capture_output=True, text=True
            ).stdout.strip()
        },
        "inputs": {"runs": args.runs, "cpu_slowdown": args.cpu_slowdown, "profile": PHONE},
        "results": results,
        "target": {"portal_first_meaningful_paint_median_ms": TARGET_MS},
        "met": fmp < TARGET_MS,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"{'measure':38} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
    for name, r in results.items():
        print(f"{name:38} {r['median_ms']:>10} {r['min_ms']:>8} {r['max_ms']:>8}")
    verdict = "met" if report["met"] else "NOT met"
    load = report["machine"]["load_average_after"][0]
    print(f"target: first meaningful paint < {TARGET_MS} ms: {verdict} (load average {load:.1f})")


if __name__ == "__main__":
    main()
