"""The first visitor after a server start: seconds until Home is on screen, and until a live run shows its first step.

    python benchmarks/cold_home.py [--runs 5] [--app app.py [--app other.py ...]] [--app app.py:SSLVIZ_WARM_UP=0]

Each visit starts a fresh ``streamlit run APP`` (nothing imported yet), waits for its health
check, then opens the page in headless Chromium (launched before the server, so not counted)
and times from the request to Home's title being visible, and to the sidebar's settings.
Then, on a second fresh server, it opens the Contrastive page, waits for its Train button, presses
it and times until the first live update (the run's "N steps so far" summary) is on screen, and until
the run's results are; then presses Train again and times the second run to its results.
Several ``--app`` scripts (e.g. an earlier app.py copied next to this one, or app.py with an environment
setting: ``app.py:SSLVIZ_WARM_UP=0``) are measured alternately in the same run. So is Streamlit's own floor: a one-line
app that draws only Home's title, served the same way (the browser's load of Streamlit's page is most of a second on
two cores, and no app can show its title sooner). Needs Playwright and a Chromium binary (SSLVIZ_CHROMIUM or `chromium`).
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
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

from _results import write_section

from sslviz.ui.settings import DEFAULTS

CHROMIUM = os.environ.get("SSLVIZ_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
TITLE = "sslviz — self-supervised learning you can watch"
FLOOR = "one-line app (`st.title` only: the floor)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def fresh_server(app: str) -> Iterator[int]:
    """A new ``streamlit run app`` process, healthy; yields its port and stops it afterwards.

    ``app`` is a script, optionally followed by environment settings for its server: ``app.py:SSLVIZ_WARM_UP=0``.
    """
    script, *settings = app.split(":")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.headless=true", f"--server.port={port}",
                             "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **dict(setting.split("=", 1) for setting in settings)})
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


def one_visit(browser, app: str, sidebar: bool = True) -> tuple[float, float]:
    """Seconds from requesting Home on a fresh server until its title, and until the sidebar, are visible (nan without ``sidebar``)."""
    with fresh_server(app) as port:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
        page.get_by_role("heading", name=TITLE).wait_for(timeout=120_000)
        title = time.perf_counter() - t0
        settings = float("nan")
        if sidebar:
            page.get_by_test_id("stSidebar").get_by_text("Training budget (seconds)").first.wait_for(timeout=120_000)
            settings = time.perf_counter() - t0
        page.close()
        return title, settings


def train_to_results(browser, app: str) -> tuple[float, float, float]:
    """On the Contrastive page of a fresh server: seconds from pressing Train until the run's first step is on screen, and
    until its results are (the "Linear probe: …" reading); then Train again (the session's second run) until its results."""
    with fresh_server(app) as port:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/contrastive")
        train = page.get_by_role("button", name="Train live")
        train.wait_for(timeout=120_000)
        enabled = "() => [...document.querySelectorAll('button')].some(b => b.innerText.includes('Train live') && !b.disabled)"
        page.wait_for_function(enabled, timeout=120_000)
        results = page.get_by_text(re.compile(r"Linear probe: .* \d\.\d{3}")).first
        t0 = time.perf_counter()
        train.click()
        page.get_by_text(re.compile(r"Text summary: \d+ steps so far")).first.wait_for(timeout=120_000)
        update = time.perf_counter() - t0
        results.wait_for(timeout=600_000)
        first = time.perf_counter() - t0
        page.wait_for_function(enabled, timeout=120_000)
        t0 = time.perf_counter()
        train.click()
        results.wait_for(state="detached", timeout=120_000)  # the earlier run's results make way for the new run's live view
        results.wait_for(timeout=600_000)
        second = time.perf_counter() - t0
        page.close()
        return update, first, second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--app", action="append", help="script to serve (default app.py); repeat to compare")
    args = parser.parse_args()
    apps = args.app or ["app.py"]
    if CHROMIUM is None:
        sys.exit("no chromium binary: apt-get install -y chromium, or set SSLVIZ_CHROMIUM")
    from playwright.sync_api import sync_playwright

    times: dict[str, list[tuple[float, float]]] = {app: [] for app in [*apps, FLOOR]}
    runs: dict[str, list[tuple[float, float, float]]] = {app: [] for app in apps}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        floor = Path(tmp, "floor.py")
        floor.write_text(f"import streamlit as st\n\nst.title({TITLE!r})\n")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(args.runs):
            times[FLOOR].append(one_visit(browser, str(floor), sidebar=False))
            for app in apps:  # alternately: the machine's noise falls on all of them alike
                times[app].append(one_visit(browser, app))
                runs[app].append(train_to_results(browser, app))
                print(app, times[app][-1], runs[app][-1], f"(floor {times[FLOOR][-1][0]:.2f})", flush=True)
        browser.close()
    budget = DEFAULTS["global.seconds"]
    med = statistics.median
    each = lambda values: ", ".join(f"{v:.2f}" for v in values)  # noqa: E731
    home_rows = [f"| {app} | {med(t for t, _ in ts):.2f} | {'—' if app == FLOOR else f'{med(s for _, s in ts):.2f}'} | {each(t for t, _ in ts)} |"
                 for app, ts in times.items()]
    run_rows = [f"| {app} | {med(u for u, _, _ in rs):.2f} ({each(u for u, _, _ in rs)}) | {med(f for _, f, _ in rs):.1f} "
                f"(budget + {med(f for _, f, _ in rs) - budget:.1f}) | {med(s for _, _, s in rs):.1f} (budget + {med(s for _, _, s in rs) - budget:.1f}) |"
                for app, rs in runs.items()]
    write_section("cold-home", "## The first visitor after a server start (cold-home)\n\n"
                  f"Fresh `streamlit run` per visit, {args.runs} visits per script, headless Chromium; seconds from the request:\n\n"
                  "| script | Home's title visible (median) | sidebar visible (median) | title, each visit |\n"
                  "|---|---|---|---|\n" + "\n".join(home_rows) + "\n\n"
                  "The floor is a one-line Streamlit app that draws only Home's title, served and opened the same way, alternately "
                  "with the others: the time Streamlit's own page takes to load in the browser and start a script run, before any "
                  "of this app's code can matter.\n\n"
                  f"Train live on the Contrastive page, a fresh server per visit, opened directly, its default run (SimCLR on "
                  f"{DEFAULTS['global.dataset']}, the sidebar's {budget}-s budget), seconds from the click (median, each):\n\n"
                  "| script | to the first live step | first run: to its results | second run (Train again): to its results |\n"
                  "|---|---|---|---|\n" + "\n".join(run_rows) + "\n\nResults = the run's \"Linear probe: … beats raw pixels …\" "
                  "reading is visible (training, then evaluation: probe and kNN, and the raw-pixel and random-init baselines, which the "
                  "server's warm-up computes in the background after the page is drawn, or else the first run, and the second finds "
                  "cached). The click comes as soon as the Train button is enabled, while the warm-up may still run.")


if __name__ == "__main__":
    main()
