"""Pretext tasks: each of the five on each dataset, 30 s, evaluated at its transfer layer vs random init there.

    python benchmarks/pretext.py                          # 5 tasks × digits, shapes (+ colorization on photos); ~10 minutes
    python benchmarks/pretext.py --methods rotation --datasets digits --seconds 10

Rows (probe, kNN, 5-labels-per-class probe, pretext metric) replace the ``pretext`` section of
RESULTS.md; a row that cannot run (colorization on grey digits) says why.
"""

from __future__ import annotations

import argparse

from _results import write_section

from sslviz import experiment, methods
from sslviz.train import configure_threads


def row(method: str, dataset: str, seconds: float, seed: int) -> str:
    try:
        exp = experiment.run(method, dataset, seconds=seconds, seed=seed, few_labels=(5,))
    except ValueError as err:  # a task that does not apply to this data
        return f"| {method} | {dataset} | — | — | n/a: {err} | | | | | | |"
    m, last = exp.metrics, exp.result.history[-1]
    metric = next(k for k in last if k not in ("loss", "step", "seconds"))
    knn_gain = m["knn_acc"] - m["random_init_knn_acc"]
    return (f"| {method} | {dataset} | {exp.method.config.transfer_layer} | {exp.result.steps} | {metric} {last[metric]:.3f} | {m['probe_acc']:.3f} | "
            f"**{m['knn_acc']:.3f}** | {m['random_init_probe_acc']:.3f} | {m['random_init_knn_acc']:.3f} | **{knn_gain:+.3f}** | "
            f"{m['probe_5_per_class_acc']:.3f} vs {m['random_init_probe_5_per_class_acc']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=methods.of_family("pretext"))
    parser.add_argument("--datasets", nargs="+", default=["digits", "shapes"])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    threads = configure_threads()
    runs = [(m, d) for m in args.methods for d in args.datasets]
    if "colorization" in args.methods:
        runs.append(("colorization", "photos"))  # colour photographs: what colorization is made for
    rows = [row(m, d, args.seconds, args.seed) for m, d in runs]
    text = (
        f"## Pretext tasks (pretext)\n\n`python benchmarks/pretext.py --seconds {args.seconds:g}` — {threads} torch threads, seed {args.seed}, "
        f"{args.seconds:g} s each, default settings. Features: the backbone's block `layer`, average-pooled; random init = the same "
        "network untrained, evaluated at the same block. Probe/kNN per docs/ARCHITECTURE.md; few labels = probe on 5 labelled images per class (mean of 3 draws). "
        "`photos` has two classes (which photograph), so its accuracies are high for any encoder.\n\n"
        "| task | data | layer | steps | pretext metric (last step) | probe | kNN | random-init probe | random-init kNN | kNN gain | 5-per-class probe vs random |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "Where a row's kNN gain is not positive, the task does not suit the data; the Pretext tasks page shows the reason beside a failing run: "
        "an autoencoder on shapes can reconstruct a single coloured blob from its colour, size and position without knowing the shape; "
        "colorization on shapes can only learn a brightness-to-colour lookup, because each shape's colour is random. "
        "Rotation on shapes still gains in kNN although its pretext accuracy stays near chance (shapes are drawn at random angles and "
        "mostly symmetric, so the rotation is undecidable) — what it learns is not the rotation.\n"
    )
    print(text)
    write_section("pretext", text)


if __name__ == "__main__":
    main()
