"""Accuracy of SSL methods within a time budget vs raw pixels and a random-init encoder.

    python benchmarks/accuracy.py                                  # SimCLR: shapes 60 s, digits 30 s
    python benchmarks/accuracy.py --methods simclr moco byol simsiam --runs shapes:60 --section family
    python benchmarks/accuracy.py --seeds 0 1 2 --runs shapes:30 --section simclr-seeds

Each run is ``python -m sslviz bench ... --json`` in a fresh process (so runs do not share
warm caches or threads); the rows replace the named section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _results import write_section

COLUMNS = ["probe_acc", "knn_acc", "raw_pixel_probe_acc", "raw_pixel_knn_acc", "random_init_probe_acc", "random_init_knn_acc"]


def bench(method: str, dataset: str, seconds: int, seed: int) -> dict:
    cmd = [sys.executable, "-m", "sslviz", "bench", "--method", method, "--dataset", dataset, "--seconds", str(seconds), "--seed", str(seed), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    row = json.loads(out)
    row["command"] = " ".join(["python -m sslviz"] + cmd[3:])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["simclr"])
    parser.add_argument("--runs", nargs="+", default=["shapes:60", "digits:30"], help="dataset:seconds pairs")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--section", default="simclr-accuracy")
    args = parser.parse_args()
    rows = []
    for method in args.methods:
        for run in args.runs:
            dataset, seconds = run.split(":")
            for seed in args.seeds:
                row = bench(method, dataset, int(seconds), seed)
                print(json.dumps({k: row[k] for k in ["method", "dataset", "seconds", "seed", "steps", *COLUMNS]}), flush=True)
                rows.append(row)
    header = "| method | dataset | budget s | seed | steps | probe | kNN | raw-pixel probe | raw-pixel kNN | random-init probe | random-init kNN | command |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    lines = [f"| {r['method']} | {r['dataset']} | {r['train_config']['max_seconds']:g} | {r['seed']} | {r['steps']} | " + " | ".join(f"{r[c]:.3f}" for c in COLUMNS) + f" | `{r['command']}` |" for r in rows]
    write_section(args.section, f"## {', '.join(args.methods)}: accuracy within a time budget ({args.section})\n\nHeld-out test split; frozen features; linear probe and kNN (k = 20, cosine) as in docs/ARCHITECTURE.md.\n\n" + header + "\n".join(lines))


if __name__ == "__main__":
    main()
