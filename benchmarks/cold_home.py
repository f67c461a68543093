"""The first visitor after a server start: seconds until Home is on screen, and until a live run shows its first step.

    python benchmarks/cold_home.py [--runs 5] [--app app.py [--app other.py ...]]

Each visit starts a fresh ``streamlit run APP`` (nothing imported yet), waits for its health
check, then opens the page in headless Chromium (launched before the server, so not counted)
and times from the request to Home's title being visible, and to the sidebar's settings.
Then, on a second fresh server, it opens the Contrastive page, waits for its Train button, presses
it and times until the first live update (the run's "N steps so far" summary) is on screen.
Several ``--app`` scripts (e.g. an earlier app.py copied next to this one) are measured
alternately in the same run. Needs Playwright and a Chromium binary (SSLVIZ_CHROMIUM or `chromium`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

from _results import write_section

CHROMIUM = os.environ.get("SSLVIZ_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
TITLE = "sslviz — self-supervised learning you can watch"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def fresh_server(app: str) -> Iterator[int]:
    """A new ``streamlit run app`` process, healthy; yields its port and stops it afterwards."""
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
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def one_visit(browser, app: str) -> tuple[float, float]:
    """Seconds from requesting Home on a fresh server until its title, and until the sidebar, are visible."""
    with fresh_server(app) as port:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
        page.get_by_role("heading", name=TITLE).wait_for(timeout=120_000)
        title = time.perf_counter() - t0
        page.get_by_test_id("stSidebar").get_by_text("Training budget (seconds)").wait_for(timeout=120_000)
        sidebar = time.perf_counter() - t0
        page.close()
        return title, sidebar


def first_update(browser, app: str) -> float:
    """Seconds from pressing Train on the Contrastive page of a fresh server until the run's first step is on screen."""
    with fresh_server(app) as port:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/contrastive")
        train = page.get_by_role("button", name="Train live")
        train.wait_for(timeout=120_000)
        page.wait_for_function("() => [...document.querySelectorAll('button')].some(b => b.innerText.includes('Train live') && !b.disabled)", timeout=120_000)
        t0 = time.perf_counter()
        train.click()
        page.get_by_text(re.compile(r"Text summary: \d+ steps so far")).first.wait_for(timeout=120_000)
        seconds = time.perf_counter() - t0
        page.close()
        return seconds


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
    updates: dict[str, list[float]] = {app: [] for app in apps}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(args.runs):
            for app in apps:  # alternately: the machine's noise falls on all of them alike
                times[app].append(one_visit(browser, app))
                updates[app].append(first_update(browser, app))
                print(app, times[app][-1], updates[app][-1], flush=True)
        browser.close()
    rows = [f"| {app} | {statistics.median(t for t, _ in ts):.2f} | {statistics.median(s for _, s in ts):.2f} | "
            f"{', '.join(f'{t:.2f}' for t, _ in ts)} | {statistics.median(updates[app]):.2f} | {', '.join(f'{u:.2f}' for u in updates[app])} |"
            for app, ts in times.items()]
    write_section("cold-home", "## The first visitor after a server start (cold-home)\n\n"
                  f"Fresh `streamlit run` per visit, {args.runs} visits per script, headless Chromium; seconds from the request:\n\n"
                  "| script | Home's title visible (median) | sidebar visible (median) | title, each visit | Train → first live step (median) | each |\n"
                  "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\nTrain → first live step: a fresh server per visit, the Contrastive page opened directly, "
                  "its default run (the sidebar's defaults), timed from the click until the run's \"N steps so far\" summary is visible.")


if __name__ == "__main__":
    main()
