"""The linear probe's solver time with scikit-learn's default BLAS/OpenMP threads vs one thread.

    python benchmarks/probe_threads.py [--dataset shapes]

Same features, same solver, same result: only the thread pool differs. Measured on the frozen
features of a briefly trained SimCLR encoder and on raw pixels (the raw-pixel baseline).
Run it beside another workload too: a busy machine is where extra threads hurt most.
"""

from __future__ import annotations

import argparse
import time

from _results import write_section
from threadpoolctl import threadpool_limits

from sslviz import evaluate, experiment
from sslviz.evaluate import frozen


def timed_probe(train_x, train_y, test_x, test_y, threads: int | None) -> tuple[float, float]:
    saved = frozen.PROBE_THREADS
    frozen.PROBE_THREADS = threads  # None: whatever the libraries would use on their own
    try:
        with threadpool_limits(limits=None):
            t0 = time.perf_counter()
            acc = evaluate.linear_probe(train_x, train_y, test_x, test_y)
            return time.perf_counter() - t0, acc
    finally:
        frozen.PROBE_THREADS = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    exp = experiment.run("simclr", args.dataset, seconds=None, steps=args.steps, seed=0, evaluated=False)
    tr, te = exp.train_set, exp.test_set
    feature_sets = {
        f"SimCLR features ({args.steps} steps)": (evaluate.extract_features(exp.method.encoder, tr.images), evaluate.extract_features(exp.method.encoder, te.images)),
        "raw pixels": (tr.images.flatten(1), te.images.flatten(1)),
    }
    rows = ["| features | shape | default threads s | 1 thread s | ratio | accuracy (default / 1) |", "|---|---|---:|---:|---:|---|"]
    for name, (xtr, xte) in feature_sets.items():
        many, acc_many = timed_probe(xtr, tr.labels, xte, te.labels, None)
        one, acc_one = timed_probe(xtr, tr.labels, xte, te.labels, 1)
        rows.append(f"| {name} | {tuple(xtr.shape)} | {many:.2f} | {one:.2f} | {many / one:.1f}× | {acc_many:.3f} / {acc_one:.3f} |")
        print(rows[-1], flush=True)
    write_section("probe-threads", "## The probe's solver: default threads vs one (probe-threads)\n\n"
                                   f"Linear-probe solver time on {args.dataset}, seed 0 (`benchmarks/probe_threads.py`; "
                                   "default = scikit-learn's own BLAS/OpenMP thread count, here one per core):\n\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
