"""A classroom at once: N browser sessions each start a training run on one server.

    python benchmarks/stress.py [--sessions 8] [--seconds 10] [--limit 900]
    python benchmarks/stress.py --backend ray --sessions 30 --browsers 8 [--cpus 2]

With ``--backend ray`` (see :func:`ray_main`) the runs go to a local Ray cluster instead: ``--sessions`` runs are
submitted through the runner API the pages use, beside ``--browsers`` real browser sessions on a Streamlit server
whose runs go to the same cluster.

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
import contextlib
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
from typing import Any, Iterator

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


def start_server(env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
                             "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
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
    ap.add_argument("--sessions", type=int, default=8, help="concurrent browser sessions (1-16); with --backend ray, API sessions (1-100)")
    ap.add_argument("--seconds", type=int, default=10, choices=range(5, 125, 5), metavar="5..120", help="training budget of each run")
    ap.add_argument("--limit", type=float, default=900, help="give up after this many seconds (at most 1800)")
    ap.add_argument("--backend", choices=("local", "ray"), default="local", help="in-process runner (default) or a local Ray cluster")
    ap.add_argument("--browsers", type=int, default=8, help="with --backend ray: real browser sessions beside the API ones (0-16)")
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="with --backend ray: the cluster's CPUs (1-64)")
    args = ap.parse_args()
    if args.backend == "ray":
        if not 1 <= args.sessions <= 100 or not 0 <= args.browsers <= 16 or not 1 <= args.cpus <= 64 or not 10 <= args.limit <= 1800:
            raise SystemExit("with --backend ray: --sessions 1-100, --browsers 0-16, --cpus 1-64, --limit 10-1800.")
        ray_main(args)
        return
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


def ray_main(args: argparse.Namespace) -> None:
    """30 sessions (and a few real browsers) through a local Ray cluster: completion, errors, FIFO order, waits, server memory.

    The cluster (``ray.cluster_utils.Cluster``, ``--cpus`` CPUs, loopback only) is started and stopped here. The API
    sessions submit ``recipes.experiment_job`` to a ``RayRunner`` as ``sslviz.ui.live.start`` does; the browsers click
    Train live on a Streamlit server started with ``SSLVIZ_RAY_ADDRESS``. Everything queues at the cluster's one queue.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # Ray on 127.0.0.1 only
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # and no usage report sent anywhere
    # Ray starts its workers at nice 15, below everything else: right on a node of their own, but here the browsers and the
    # Streamlit server share the same 2 cores, and at nice 15 the runs would only get what 8 Chromiums leave over.
    os.environ["RAY_worker_niceness"] = "0"
    import ray
    from ray.cluster_utils import Cluster

    from sslviz import jobs, recipes
    from sslviz.jobs_ray import RayRunner
    from sslviz.ui.settings import DEFAULTS

    dataset = DEFAULTS["global.dataset"]
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": args.cpus})
    ray.init(address=cluster.address, namespace="sslviz", logging_level="ERROR", log_to_driver=False)
    runner = RayRunner(cluster.address, jobs.MAX_JOB_SECONDS, jobs.IDLE_SECONDS, jobs.MAX_JOB_MB, jobs.MAX_RSS_MB)
    if not runner.wait_connected(60):
        raise SystemExit(runner.problem)
    proc, url = start_server({"SSLVIZ_RAY_ADDRESS": cluster.address, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(proc.stdout), daemon=True).start()
    browsers = [Session(seed=500 + i) for i in range(args.browsers)]
    api: list[dict] = []
    t0 = time.time()
    try:
        with sync_playwright_or_none(args.browsers) as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS) if p else None
            for s in browsers:
                open_session(browser, url, s, args.seconds)
            for i in range(args.sessions):  # the API sessions, then the browsers, all within a second or two
                job = runner.submit(recipes.experiment_job("simclr", dataset, args.seconds, seed=100 + i, device="cpu"), name=f"api{i}")
                api.append({"job": job, "submitted": time.time(), "first_update": None, "started": None, "max_position": 0})
            for s in browsers:
                s.page.get_by_role("button", name="Train live").click()
                s.clicked = time.time()
            while time.time() - t0 < args.limit and (any(r["job"].view().active for r in api)
                                                      or any(s.ended is None and not s.errors for s in browsers)):
                now = time.time()
                for r in api:
                    view = r["job"].view()
                    r["max_position"] = max(r["max_position"], view.queue_position or 0)
                    if r["started"] is None and view.status != "queued":
                        r["started"] = now
                    if r["first_update"] is None and view.history:
                        r["first_update"] = now
                for s in browsers:
                    if s.ended is None:
                        poll(s)
                time.sleep(0.25)
            if browser:
                browser.close()
    finally:
        peak = memory_mb(proc.pid, "VmHWM")
        proc.terminate()
        proc.wait(10)
        waiting, running = runner.cluster_counts()
        runner.close()  # its driver threads leave Ray before Ray shuts down
        ray.shutdown()
        cluster.shutdown()
    views = [r["job"].view() for r in api]
    done = [v for v in views if v.status == "done"]
    failed = [v.message for v in views if v.status != "done"]
    start_order = sorted(range(len(api)), key=lambda i: (api[i]["started"] or float("inf")))
    fifo = start_order == list(range(len(api)))
    waits = sorted(r["first_update"] - r["submitted"] for r in api if r["first_update"])
    b_waits = sorted(s.started - s.clicked for s in browsers if s.started)
    b_done = [s for s in browsers if s.ended is not None and not s.errors]
    errors = failed + [e for s in browsers for e in s.errors]
    server_errors = [line.strip() for line in log if "Traceback" in line or "Error" in line]
    ends = [v.finished for v in views if v.finished] + [s.ended for s in b_done]
    wall_min = (max(ends) - t0) / 60 if ends else float("nan")
    durations = sorted(v.finished - v.started for v in done)
    per_core_minute = (len(done) + len(b_done)) / (args.cpus * wall_min)
    d = statistics.median(durations) if durations else float("nan")

    def pct(xs: list[float], q: float) -> float:
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")

    def cores_for(n: int) -> str:  # a run holds its CPU for d s: with C slots the k-th run starts after floor((k-1)/C)·d s
        c = n if d > 10 else -(-n // (int(10 // d) + 1))
        return f"{c} cores (one per run: a run holds its CPU for ~{d:.0f} s, longer than 10 s)" if d > 10 else f"{c} cores"
    body = (
        f"### Stress on Ray: {args.sessions} API sessions + {args.browsers} browsers, one {args.seconds}-s SimCLR run each ({dataset}), "
        f"a local cluster of {args.cpus} CPUs\n\n"
        f"- API sessions finished: **{len(done)} / {args.sessions}**; browser sessions: **{len(b_done)} / {args.browsers}**; "
        f"errors: **{len(errors)}**; tracebacks/errors in the server log: **{len(server_errors)}**.\n"
        f"- Queue order first come, first served (API sessions, by the time each left the queue): **{'yes' if fifo else 'NO'}**; "
        f"deepest position shown {max((r['max_position'] for r in api), default=0)}; left in the cluster's queue at the end: {waiting} waiting, {running} running.\n"
        f"- Wait from submit to the first live update (s), API: p50 **{pct(waits, 0.5):.1f}**, p95 **{pct(waits, 0.95):.1f}**; "
        f"browsers (click to training shown): p50 {pct(b_waits, 0.5):.1f}, p95 {pct(b_waits, 0.95):.1f}.\n"
        f"- A run holds its CPU for {d:.1f} s (median, start to result: worker start, {args.seconds} s of training, evaluation); "
        f"**{per_core_minute:.2f} runs per core-minute**; everything done {wall_min * 60:.0f} s after the first submit.\n"
        f"- The Streamlit process's **peak RSS {peak:,.0f} MB** (VmHWM; training memory is in the Ray workers).\n"
        f"- For everyone in a class to see their run start within 10 s: 30 students need {cores_for(30)}; 100 need {cores_for(100)}.\n\n"
        f"Command: `python benchmarks/stress.py --backend ray --sessions {args.sessions} --browsers {args.browsers} --cpus {args.cpus} --seconds {args.seconds}`"
        + ("\n\nErrors:\n" + "\n".join(f"- {e[:300]}" for e in errors + server_errors) if errors or server_errors else "")
    )
    print(body)
    write_section("stress-ray", body)
    if len(done) < args.sessions or len(b_done) < args.browsers or errors or server_errors or not fifo:
        sys.exit(1)


@contextlib.contextmanager
def sync_playwright_or_none(browsers: int) -> Iterator[Any]:
    """Playwright when there are browser sessions to open (it needs Chromium), else None."""
    if not browsers:
        yield None
        return
    if not CHROMIUM:
        raise SystemExit("needs chromium on PATH (apt-get install -y chromium) or SSLVIZ_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


if __name__ == "__main__":
    main()
