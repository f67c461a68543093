"""Defaults of Barlow Twins, VICReg, DINO and SwAV (and SimSiam's predictor width), chosen on the validation split.

    python benchmarks/select_new_methods.py              # every candidate, 60 s each on shapes (fit → val); ~25 minutes
    python benchmarks/select_new_methods.py --only dino

Each candidate trains 60 s on the ``fit`` split and is scored by kNN (and the linear probe) on ``val``;
the test split is never read. Prints one JSON line per candidate; the table in RESULTS.md
("Defaults of the new methods") is written from these lines.
"""

from __future__ import annotations

import argparse
import json

import _results  # noqa: F401  (makes sslviz importable)

from sslviz import experiment
from sslviz.experiment import SELECTION_PROTOCOL

CANDIDATES = [
    ("dino", {"momentum": 0.99}), ("dino", {"momentum": 0.99, "teacher_temperature": 0.07}), ("dino", {"momentum": 0.9}), ("dino", {"momentum": 0.996}),
    ("dino", {"momentum": 0.999}), ("dino", {"momentum": 0.99, "proj_dim": 256}), ("dino", {"backbone": "vit"}),
    ("barlow_twins", {"lambd": 0.005}), ("barlow_twins", {"lambd": 0.02}), ("barlow_twins", {"lambd": 0.05}),
    ("vicreg", {}), ("swav", {"prototypes": 16}), ("swav", {"prototypes": 32}), ("swav", {"prototypes": 64}),
    ("simsiam", {"predictor_hidden": 32}), ("simsiam", {"predictor_hidden": 64}),
    ("swav", {"temperature": 0.1}), ("swav", {"temperature": 0.2}), ("swav", {"temperature": 0.1, "proj_dim": 128}), ("swav", {"temperature": 0.1, "epsilon": 0.1}),
]
SIGNALS = ("effective_rank", "teacher_entropy", "kl", "prototypes_used", "on_diagonal", "variance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", help="methods to run (default: all candidates)")
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    for name, overrides in CANDIDATES:
        if args.only and name not in args.only:
            continue
        exp = experiment.run(name, "shapes", seconds=args.seconds, seed=0, method_overrides=overrides, splits=SELECTION_PROTOCOL)
        if exp.result.diverged:
            print(json.dumps({"m": name, "over": overrides, "diverged": exp.result.message}), flush=True)
            continue
        last, s = exp.result.history[-1], exp.summary()
        print(json.dumps({"m": name, "over": overrides, "steps": exp.result.steps, "val_knn": round(s["knn_acc"], 3), "val_probe": round(s["probe_acc"], 3),
                          "random_init_val_knn": round(s["random_init_knn_acc"], 3), **{k: round(last[k], 3) for k in SIGNALS if k in last},
                          "std_sqrt_d": round(last["embedding_std"] * exp.method.config.proj_dim ** 0.5, 3)}), flush=True)


if __name__ == "__main__":
    main()
