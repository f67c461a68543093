"""The first visitor after a server start: seconds until Home's title, and until the sidebar, are on screen.

    python benchmarks/cold_home.py [--runs 5] [--app app.py [--app other.py ...]]

Each run starts a fresh ``streamlit run APP`` (nothing imported yet), waits for its health
check, then opens the page in headless Chromium (launched before the server, so not counted)
and times from the request to Home's title being visible, and to the sidebar's settings.
Several ``--app`` scripts (e.g. an earlier app.py copied next to this one) are measured
alternately in the same run. Needs Playwright and a Chromium binary (SSLVIZ_CHROMIUM or `chromium`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _results import write_section

CHROMIUM = os.environ.get("SSLVIZ_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
TITLE = "sslviz — self-supervised learning you can watch"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_visit(browser, app: str) -> tuple[float, float]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", app, "--server.headless=true", f"--server.port={port}",
                             "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{app}: the server did not start within 120 s") from None
                time.sleep(0.05)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
        page.get_by_role("heading", name=TITLE).wait_for(timeout=120_000)
        title = time.perf_counter() - t0
        page.get_by_test_id("stSidebar").get_by_text("Training budget (seconds)").wait_for(timeout=120_000)
        sidebar = time.perf_counter() - t0
        page.close()
        return title, sidebar
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--app", action="append", help="script to serve (default app.py); repeat to compare")
    args = parser.parse_args()
    apps = args.app or ["app.py"]
    if CHROMIUM is None:
        sys.exit("no chromium binary: apt-get install -y chromium, or set SSLVIZ_CHROMIUM")
    from playwright.sync_api import sync_playwright

    times: dict[str, list[tuple[float, float]]] = {app: [] for app in apps}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(args.runs):
            for app in apps:  # alternately: the machine's noise falls on all of them alike
                times[app].append(one_visit(browser, app))
                print(app, times[app][-1], flush=True)
        browser.close()
    rows = [f"| {app} | {statistics.median(t for t, _ in ts):.2f} | {statistics.median(s for _, s in ts):.2f} | "
            f"{', '.join(f'{t:.2f}' for t, _ in ts)} |" for app, ts in times.items()]
    write_section("cold-home", "## The first visitor after a server start (cold-home)\n\n"
                  f"Fresh `streamlit run` per visit, {args.runs} visits per script, headless Chromium; seconds from the request:\n\n"
                  "| script | Home's title visible (median) | sidebar visible (median) | title, each visit |\n|---|---|---|---|\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
