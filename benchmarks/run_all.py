"""Regenerate every section of benchmarks/RESULTS.md from one commit, one script after another.

    python benchmarks/run_all.py --list            # what would run, in order, with the commands
    python benchmarks/run_all.py                   # all of it (several hours on 2 cores)
    python benchmarks/run_all.py --only probe_threads evaluation_cache
    python benchmarks/run_all.py --skip cold_home page_render

Each script writes its own sections, stamped with the commit and date (benchmarks/_results.py).
A tree with uncommitted changes (other than RESULTS.md) is refused unless --allow-changes, so
every figure names code that exists. A script that fails is reported and the rest still run;
the exit status is 1 if any failed. Scripts that need what this machine may lack (a GPU for
device_check --device cuda, Chromium for cold_home) are listed but skipped with a reason.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _results import commit  # noqa: E402

# (script, arguments): the commands whose output RESULTS.md holds, cheapest first.
RUNS: list[tuple[str, list[str]]] = [
    ("probe_threads", []),
    ("evaluation_cache", []),
    ("augment_throughput", []),
    ("pipeline_throughput", []),
    ("utilization", []),
    ("page_render", []),
    ("cold_home", ["--app", "app.py", "--app", "app.py:SSLVIZ_WARM_UP=0"]),
    ("device_check", ["--device", "cpu"]),
    ("gpu_check", []),
    ("time_to_accuracy", ["--dataset", "clutter", "--seconds", "30", "--every", "3"]),
    ("time_to_accuracy", ["--dataset", "shapes", "--seconds", "30", "--every", "3"]),
    ("faster_defaults", []),
    ("accuracy", []),
    ("simsiam_stopgrad", []),
    ("mae", []),
    ("pretext", []),
    ("deepcluster", []),
    ("multimodal", []),
    ("downstream", []),
    ("dino_attention", []),
    ("collapse", []),
    ("break_it_lessons", ["--load"]),
    ("new_methods", []),
    ("select_on_val", []),
    ("select_new_methods", []),
    ("stress", []),
]


def missing(script: str) -> str | None:
    """Why ``script`` cannot run on this machine, or None."""
    if script == "cold_home" and not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "no Chromium binary"
    if script == "gpu_check":
        import torch

        if not torch.cuda.is_available():
            return "no CUDA device"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = sorted({s for s, _ in RUNS})
    parser.add_argument("--only", nargs="+", choices=names, metavar="SCRIPT")
    parser.add_argument("--skip", nargs="+", choices=names, metavar="SCRIPT", default=[])
    parser.add_argument("--list", action="store_true", help="print the commands and exit")
    parser.add_argument("--allow-changes", action="store_true", help="run on a tree with uncommitted changes (figures are stamped +changes)")
    args = parser.parse_args()
    runs = [(s, a) for s, a in RUNS if (args.only is None or s in args.only) and s not in args.skip]
    if args.list:
        print("\n".join(f"python benchmarks/{s}.py {' '.join(a)}".rstrip() for s, a in runs))
        return
    stamp = commit()
    if stamp.endswith("+changes") and not args.allow_changes:
        sys.exit(f"uncommitted changes at {stamp}: commit them first (or --allow-changes), so every section names real code")
    failed, skipped = [], []
    for script, extra in runs:
        why = missing(script)
        if why:
            skipped.append(f"{script} ({why})")
            print(f"skip {script}: {why}", flush=True)
            continue
        cmd = [sys.executable, str(HERE / f"{script}.py"), *extra]
        print(f"run  {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        code = subprocess.run(cmd, cwd=HERE.parent).returncode
        print(f"     {script}: exit {code} after {time.perf_counter() - t0:.0f} s", flush=True)
        if code:
            failed.append(f"{script} (exit {code})")
    print(f"commit {stamp}; {len(runs) - len(failed) - len(skipped)} ran, failed: {', '.join(failed) or 'none'}; skipped: {', '.join(skipped) or 'none'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
