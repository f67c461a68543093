"""Without SSLVIZ_RAY_ADDRESS, does the job runner start as before? Import time, memory and Ray, this tree vs an earlier commit.

    python benchmarks/runner_overhead.py --baseline f7ba4c7 [--runs 7]

Each run is a fresh Python process, alternating between this checkout and a git worktree of ``--baseline``
(the same interpreter and packages): it imports what a page needs to start a run (``sslviz.ui.live``, which
pulls in Streamlit, torch and the runner), makes the server's runner as the app does, and reports the
seconds that took, the process's peak resident memory, and whether ``ray`` was imported. Writes the
``runner-overhead`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _results import write_section

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, resource, sys, time
t = time.perf_counter()
from sslviz import jobs
from sslviz.ui import live
runner = jobs.RUNNER
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "ray": "ray" in sys.modules, "runner": type(runner).__name__}))
"""


def measure(tree: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSLVIZ_RAY")}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=tree, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="the commit to compare with (e.g. the one before the Ray backend)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if not 1 <= args.runs <= 50:
        raise SystemExit("--runs must be 1-50")
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.baseline], cwd=ROOT, check=True, capture_output=True)
        try:
            results: dict[str, list[dict]] = {"baseline": [], "this tree": []}
            for _ in range(args.runs):
                results["baseline"].append(measure(old))
                results["this tree"].append(measure(ROOT))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    commit = subprocess.run(["git", "rev-parse", "--short", args.baseline], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    rows = []
    for name, runs in results.items():
        secs, peaks = [r["seconds"] for r in runs], [r["peak_mb"] for r in runs]
        rows.append(f"| {name}{f' ({commit})' if name == 'baseline' else ''} | {runs[0]['runner']} | {statistics.median(secs):.2f} "
                    f"({min(secs):.2f}–{max(secs):.2f}) | {statistics.median(peaks):.0f} ({min(peaks):.0f}–{max(peaks):.0f}) | "
                    f"{sum(r['ray'] for r in runs)} / {len(runs)} |")
    body = "\n".join([
        "## Without SSLVIZ_RAY_ADDRESS: the runner as before (runner-overhead)",
        "",
        f"`benchmarks/runner_overhead.py --baseline {args.baseline} --runs {args.runs}`: fresh processes, alternating, each importing what a "
        "page needs to start a run (`sslviz.ui.live`: Streamlit, torch, the runner) and making the server's runner. Median (min–max).",
        "",
        "| tree | runner | import + runner (s) | peak RSS (MB) | ray imported |",
        "|---|---|---|---|---|",
        *rows,
    ])
    print(body)
    if not args.no_write:
        write_section("runner-overhead", body)


if __name__ == "__main__":
    main()
