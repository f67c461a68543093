"""First-render time of every page, and app start-up (process start to first page served).

    python benchmarks/page_render.py

- cold: a fresh Python process renders the page once (imports torch, builds data) — what the
  very first visitor after a server start waits for;
- warm: a new browser session on a running server (a fresh AppTest in a process that has
  already served the page once) — what every later visitor waits for; median of 5;
- start-up: `streamlit run app.py` until /_stcore/health answers, plus the first HTTP page load;
- "Use pretrained": the click's rerun, first in a process (loads and scores the checkpoint) and later (cached).
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _results import write_section

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["app.py", "app_pages/augmentations.py", "app_pages/contrastive.py", "app_pages/collapse.py", "app_pages/mae.py", "app_pages/clustering.py", "app_pages/pretext.py", "app_pages/downstream.py", "app_pages/multimodal.py"]

MEASURE = """
import json, statistics, sys, time
from streamlit.testing.v1 import AppTest
page = sys.argv[1]
def render():
    at = AppTest.from_file(page, default_timeout=60)
    t = time.perf_counter(); at.run(); dt = time.perf_counter() - t
    assert not at.exception, [e.value for e in at.exception]
    return dt
cold = render()
warm = statistics.median(render() for _ in range(5))
print(json.dumps({"cold": cold, "warm": warm}))
"""


PRETRAINED = """
import json, statistics, sys, time
from streamlit.testing.v1 import AppTest
page, button = sys.argv[1], sys.argv[2]
def use_pretrained():
    at = AppTest.from_file(page, default_timeout=300)
    at.run()
    t = time.perf_counter(); at.button(key=button).click().run(); dt = time.perf_counter() - t
    assert not at.exception and at.session_state[button.rsplit(".", 1)[0] + ".job"].view().status == "done"
    return dt
first = use_pretrained()
later = statistics.median(use_pretrained() for _ in range(5))
print(json.dumps({"first": first, "later": later}))
"""
PRETRAINED_PAGES = [("app_pages/contrastive.py", "contrastive.pretrained"), ("app_pages/mae.py", "mae.pretrained"),
                    ("app_pages/clustering.py", "cluster.pretrained"), ("app_pages/multimodal.py", "mm.clip.pretrained")]


def startup_seconds() -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                return time.perf_counter() - t
            except OSError:
                if time.perf_counter() - t > 60:
                    raise RuntimeError("server did not start within 60 s")
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    rows = []
    for page in PAGES:
        out = subprocess.run([sys.executable, "-c", MEASURE, str(ROOT / page)], capture_output=True, text=True, check=True, cwd=ROOT)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(page, r, flush=True)
        rows.append(f"| {page} | {r['cold']:.2f} | {r['warm']:.3f} |")
    pretrained = []
    for page, button in PRETRAINED_PAGES:
        out = subprocess.run([sys.executable, "-c", PRETRAINED, str(ROOT / page), button], capture_output=True, text=True, check=True, cwd=ROOT)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(page, "use pretrained", r, flush=True)
        pretrained.append(f"| {page} | {r['first']:.2f} | {r['later']:.3f} |")
    start = statistics.median(startup_seconds() for _ in range(3))
    print("startup", start)
    write_section("page-render", "## Page first render and app start-up (page-render)\n\n"
                  "| page | cold first render s (fresh process) | warm first render s (new session, median of 5) |\n|---|---|---|\n"
                  + "\n".join(rows) + f"\n\nApp start-up (process start → health check → first page served), median of 3: **{start:.2f} s**.\n\n"
                  "**Use pretrained** (click → page rerun with the results, shapes; the first click loads and scores the checkpoint once per server):\n\n"
                  "| page | first click s | later clicks s (new sessions, median of 5) |\n|---|---|---|\n" + "\n".join(pretrained))


if __name__ == "__main__":
    main()
