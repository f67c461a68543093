"""A classroom at once: N browser sessions each start a training run on one server.

    python benchmarks/stress.py [--sessions 8] [--seconds 10] [--limit 900]

Starts `streamlit run app.py` on 127.0.0.1 (loopback only) and opens N separate sessions in
headless Chromium (Debian's `chromium`, or SSLVIZ_CHROMIUM). Each session sets its own seed,
opens the Contrastive page and clicks "Train live" within a second of the others. The script
then watches every session until all runs have ended or ``--limit`` seconds have passed (it
stops by itself either way) and reports: completed runs, how long each waited in the queue,
errors on any page or in the server log, whether every session shows its own seed (no session
sees another's run), and the server's peak resident memory (VmHWM from /proc).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from _results import write_section

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SSLVIZ_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run",
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding"]
FINISHED = re.compile(r"(\d+) steps in ([\d.]+) s on (\w+), seed (\d+)")


@dataclass
class Session:
    seed: int
    page: object = None
    clicked: float = 0.0
    started: float | None = None  # first time the page showed the run training
    ended: float | None = None
    max_position: int = 0
    steps: int = 0
    shown_seed: int | None = None
    errors: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_mb(pid: int, key: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
                             "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"streamlit did not start: {proc.stdout.read()}")


def open_session(browser, url: str, s: Session, seconds: int) -> None:
    """A fresh browser context (its own session), its seed and budget set, on the Contrastive page."""
    pg = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    pg.set_default_timeout(60_000)
    pg.goto(f"{url}/contrastive")
    pg.get_by_role("heading", name=re.compile("SimCLR, MoCo, BYOL, SimSiam")).wait_for()
    seed = pg.get_by_test_id("stNumberInput").filter(has_text="Seed").locator("input")
    seed.fill(str(s.seed))
    seed.press("Enter")
    slider = pg.get_by_test_id("stSlider").filter(has_text="Training budget").get_by_role("slider")
    slider.focus()
    pg.keyboard.press("Home")  # 5 s, then steps of 5
    for _ in range((seconds - 5) // 5):
        pg.keyboard.press("ArrowRight")
    pg.get_by_test_id("stSlider").filter(has_text="Training budget").get_by_text(str(seconds), exact=True).first.wait_for()
    pg.get_by_text(re.compile(rf"seed {s.seed}, budget {seconds} s")).first.wait_for()
    s.page = pg


def poll(s: Session) -> None:
    """Update one session's record from what its page shows now."""
    pg, now = s.page, time.time()
    main = pg.get_by_test_id("stMainBlockContainer")
    s.errors += [text[:300] for text in pg.get_by_test_id("stException").all_inner_texts()]
    for text in main.get_by_test_id("stAlertContentError").all_inner_texts():
        if text not in s.errors:
            s.errors.append(text[:300])
    # all_inner_texts() does not wait: the page may change between two calls (a queued run starts).
    waiting = main.get_by_text(re.compile(r"position \d+ in the queue")).all_inner_texts()
    if waiting:
        s.max_position = max(s.max_position, int(re.search(r"position (\d+)", waiting[0]).group(1)))
    elif s.started is None and main.get_by_test_id("stProgress").count():
        s.started = now
    done = [m for text in main.get_by_text(FINISHED).all_inner_texts() if (m := FINISHED.search(text))]
    if done:
        s.steps, s.shown_seed, s.ended = int(done[0].group(1)), int(done[0].group(4)), now
        s.started = s.started or now


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8, help="concurrent browser sessions (1-16)")
    ap.add_argument("--seconds", type=int, default=10, choices=range(5, 125, 5), metavar="5..120", help="training budget of each run")
    ap.add_argument("--limit", type=float, default=900, help="give up after this many seconds (at most 1800)")
    args = ap.parse_args()
    if not 1 <= args.sessions <= 16 or not 10 <= args.limit <= 1800:
        raise SystemExit("--sessions must be 1-16 and --limit 10-1800 (the script must stay bounded).")
    if not CHROMIUM:
        raise SystemExit("needs chromium on PATH (apt-get install -y chromium) or SSLVIZ_CHROMIUM")
    from playwright.sync_api import sync_playwright

    proc, url = start_server()
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(proc.stdout), daemon=True).start()
    rss_samples: list[float] = []
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            rss_samples.append(memory_mb(proc.pid, "VmRSS"))
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    sessions = [Session(seed=100 + i) for i in range(args.sessions)]
    t0 = time.time()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for s in sessions:
                open_session(browser, url, s, args.seconds)
            rss_idle = memory_mb(proc.pid, "VmRSS")
            for s in sessions:  # all the clicks within about a second
                s.page.get_by_role("button", name="Train live").click()
                s.clicked = time.time()
            clicked_at = time.time()
            while time.time() - t0 < args.limit and any(s.ended is None and not s.errors for s in sessions):
                for s in sessions:
                    if s.ended is None:
                        poll(s)
                time.sleep(0.5)
            browser.close()
    finally:
        sampling.set()
        peak = memory_mb(proc.pid, "VmHWM")
        proc.terminate()
        proc.wait(10)

    wall = time.time() - clicked_at
    completed = [s for s in sessions if s.ended is not None and not s.errors]
    waits = [s.started - s.clicked for s in sessions if s.started is not None]
    durations = [s.ended - s.clicked for s in completed]
    own_seed = sum(s.shown_seed == s.seed for s in completed)
    server_errors = [line.strip() for line in log if "Traceback" in line or "Error" in line]
    errors = [e for s in sessions for e in s.errors]
    rows = [f"| {s.seed} | {'done' if s in completed else 'NOT DONE'} | {s.max_position or '-'} | "
            f"{(s.started - s.clicked) if s.started else float('nan'):.1f} | {(s.ended - s.clicked) if s.ended else float('nan'):.1f} | "
            f"{s.steps} | {s.shown_seed} |" for s in sessions]
    body = (
        f"### Stress: {args.sessions} concurrent sessions, one {args.seconds}-s SimCLR run each\n\n"
        f"- Completed runs: **{len(completed)} / {args.sessions}**; errors on pages: **{len(errors)}**; "
        f"tracebacks/errors in the server log: **{len(server_errors)}**.\n"
        f"- Every session shows its own seed: **{own_seed} / {len(completed)}**.\n"
        f"- Queue wait from click to training (s): min {min(waits, default=float('nan')):.1f}, median "
        f"{statistics.median(waits) if waits else float('nan'):.1f}, max {max(waits, default=float('nan')):.1f}; "
        f"deepest queue position shown {max(s.max_position for s in sessions)}.\n"
        f"- Click to result (s): median {statistics.median(durations) if durations else float('nan'):.1f}, "
        f"max {max(durations, default=float('nan')):.1f}; all done {wall:.0f} s after the clicks.\n"
        f"- Server memory: {rss_idle:,.0f} MB with all sessions open before training; **peak RSS {peak:,.0f} MB** "
        f"(VmHWM; max sampled {max(rss_samples, default=float('nan')):,.0f} MB).\n\n"
        "The headless browsers run on the same 2 cores as the server (in a classroom they run on the students' own machines), "
        "so the waits here are a worst case. Runs train one at a time (SSLVIZ_MAX_JOBS, default one per two cores), and most of "
        "each run is its evaluation: every session uses a different seed, so nothing is shared, and the raw-pixel probe baseline alone "
        "takes about 14 s for a new seed on an idle machine. Sessions that keep the default seed share those baselines (cached).\n\n"
        "| seed | outcome | deepest queue position | wait (s) | click to result (s) | steps | seed shown |\n|---|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + ("\n\nErrors:\n" + "\n".join(f"- {e}" for e in errors + server_errors) if errors or server_errors else "")
    )
    print(body)
    write_section("stress", body)
    if len(completed) < args.sessions or errors or server_errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
