"""How long evaluation takes after training, cold (first run on a server) and warm (the baselines cached).

    python benchmarks/evaluation_cache.py [--dataset shapes]

Trains each case for a few steps (what it learns does not matter here) and times
``experiment.evaluation``: the trained encoder's probe and kNN, then the raw-pixel and
random-init baselines, which are cached by what they depend on (dataset, split, seed and the
initial encoder's fingerprint). The cases are what a learner does on the pages: a first SimCLR
run, a break-it variant, another method with the same encoder, and two MAE mask ratios.
"""

from __future__ import annotations

import argparse
import time

from _results import write_section

from sslviz import experiment

CASES = (
    ("first SimCLR run (cold server)", "simclr", {}),
    ("SimCLR, temperature 0.5 (a variant)", "simclr", {"temperature": 0.5}),
    ("SimCLR, no negatives (a break-it)", "simclr", {"negatives": False}),
    ("BYOL (same encoder)", "byol", {}),
    ("first MAE run (its own encoder)", "mae", {}),
    ("MAE, mask ratio 0.5 (sweep)", "mae", {"mask_ratio": 0.5}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    rows = ["| case | evaluation s | of which baselines computed now |", "|---|---:|---|"]
    for label, method, overrides in CASES:
        exp = experiment.run(method, args.dataset, seconds=None, steps=args.steps, seed=0, method_overrides=overrides, evaluated=False)
        phases: list[str] = []
        t0 = time.perf_counter()
        experiment.evaluation(exp, (), True, phases.append)
        seconds = time.perf_counter() - t0
        computed = [p.split(" baseline")[0].removeprefix("evaluating the ") for p in phases if "baseline" in p]
        rows.append(f"| {label} | {seconds:.1f} | {', '.join(computed) or 'none (cached)'} |")
        print(rows[-1], flush=True)
    write_section("evaluation-cache", "## Evaluation after training: cold server vs cached baselines (evaluation-cache)\n\n"
                                      f"Evaluation after training on {args.dataset}, seed 0, in one server process "
                                      "(`benchmarks/evaluation_cache.py`):\n\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
