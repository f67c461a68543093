"""Barlow Twins, VICReg, SwAV and DINO against a random-init network: 60 s on shapes, seeds 0, 1, 2, through the CLI.

    python benchmarks/new_methods.py                                   # 4 methods × 3 seeds × 60 s (+ evaluation): ~18 minutes
    python benchmarks/new_methods.py --methods dino --seconds 120      # DINO at the page's largest budget

Each run is exactly ``python -m sslviz bench --method M --dataset shapes --seconds S --seed K --json``
(test split; the random-init baseline is the same architecture with the same seed). Rows replace the
``new-methods`` section of RESULTS.md (or ``new-methods-<S>s`` for another budget).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from _results import RESULTS, write_section

ROOT = Path(__file__).resolve().parents[1]


def bench(method: str, dataset: str, seconds: float, seed: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "sslviz", "bench", "--method", method, "--dataset", dataset, "--seconds", str(seconds),
                          "--seed", str(seed), "--json"], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def kept_rows(section: str, rerun: list[str]) -> list[str]:
    """The section's existing rows of the methods not rerun now (so one method can be re-measured alone)."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    start = f"<!-- {section}:start -->"
    body = text.split(start)[-1].split(f"<!-- {section}:end -->")[0] if start in text else ""
    return [line for line in body.splitlines() if line.startswith("| ") and not line.startswith("| method")
            and line.split("|")[1].strip() not in rerun]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["barlow_twins", "vicreg", "swav", "dino"])
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    section = "new-methods" if args.seconds == 60 else f"new-methods-{args.seconds:g}s"
    rows = kept_rows(section, args.methods)
    for method in args.methods:
        runs = [bench(method, args.dataset, args.seconds, s) for s in args.seeds]
        for r in runs:
            print(json.dumps({k: r[k] for k in ("method", "seed", "steps", "knn_acc", "probe_acc", "random_init_knn_acc", "random_init_probe_acc")}), flush=True)
        gain = [r["knn_acc"] - r["random_init_knn_acc"] for r in runs]
        probe_gain = [r["probe_acc"] - r["random_init_probe_acc"] for r in runs]
        cell = lambda key: " / ".join(f"{r[key]:.3f}" for r in runs)  # noqa: E731
        rows.append(f"| {method} | {cell('steps').replace('.000', '')} | {cell('knn_acc')} | {cell('random_init_knn_acc')} | {min(gain):+.3f} | "
                    f"{cell('probe_acc')} | {cell('random_init_probe_acc')} | {min(probe_gain):+.3f} | {statistics.mean(gain):+.3f} |")
        print(rows[-1], flush=True)
    write_section(section, "\n".join([
        f"## Barlow Twins, VICReg, SwAV, DINO: {args.seconds:g} s on {args.dataset} ({section})",
        "",
        f"`benchmarks/new_methods.py`: `python -m sslviz bench --dataset {args.dataset} --seconds {args.seconds:g} --seed K` for seeds "
        f"{', '.join(map(str, args.seeds))} (values per seed, separated by /). Test split; random init = the same architecture and seed, untrained.",
        "",
        "| method | steps | kNN | random-init kNN | min kNN gain | probe | random-init probe | min probe gain | mean kNN gain |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]))


if __name__ == "__main__":
    main()
