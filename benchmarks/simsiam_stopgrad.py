"""SimSiam without stop-gradient, measured: does it collapse here as in the SimSiam paper's Figure 2?

    python benchmarks/simsiam_stopgrad.py                      # 3 variants × digits, shapes, 300 steps each; ~5 minutes
    python benchmarks/simsiam_stopgrad.py --steps 100 --datasets digits

The paper (Chen & He 2021, Fig. 2) removes the stop-gradient from its default network (batch norm
on the projector's output included) and reports collapse: the per-channel std of the L2-normalised
output falls to ~0 and kNN accuracy to chance. Each row gives, after a fixed number of steps, the
spread of the normalised projections (std × √d: about 1 when spread over the sphere, 0 when
collapsed), their effective rank, the collapse detector's verdict, and the frozen-feature kNN.
Rows replace the ``simsiam-stopgrad`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse

from _results import write_section

from sslviz import diagnostics, experiment
from sslviz.train import configure_threads

VARIANTS = {
    "SimSiam (stop-gradient, BN on the projector output)": {},
    "no stop-gradient, BN kept": {"stop_gradient": False},
    "no stop-gradient, no output BN": {"stop_gradient": False, "projector_output_norm": False},
}


def row(label: str, overrides: dict, dataset: str, steps: int, seed: int) -> str:
    exp = experiment.run("simsiam", dataset, seconds=None, steps=steps, seed=seed, method_overrides=overrides)
    h, dim = exp.result.history, exp.method.config.proj_dim
    last = h[-1]
    collapsed = diagnostics.is_collapsed(h, dim)
    return (f"| {dataset} | {label} | {exp.result.steps} | {last['loss']:.3f} | {last['embedding_std'] * dim ** 0.5:.3f} | "
            f"{last['effective_rank']:.1f} of {dim} | {'yes' if collapsed else 'no'} | {exp.metrics['knn_acc']:.3f} | {exp.metrics['random_init_knn_acc']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["digits", "shapes"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    threads = configure_threads()
    rows = [row(label, overrides, d, args.steps, args.seed) for d in args.datasets for label, overrides in VARIANTS.items()]
    for r in rows:
        print(r, flush=True)
    write_section("simsiam-stopgrad", "\n".join([
        "## SimSiam without stop-gradient",
        "",
        f"`benchmarks/simsiam_stopgrad.py`: {args.steps} steps, seed {args.seed}, each method's default batch and lr, {threads} threads. "
        "std × √d of the L2-normalised projections (≈ 1 spread, 0 collapsed) and their effective rank at the last step; "
        "collapsed: the app's detector; kNN on the frozen encoder (test split) against a random-init encoder.",
        "",
        "| dataset | variant | steps | loss | std × √d | effective rank | collapsed | kNN | random-init kNN |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]))


if __name__ == "__main__":
    main()
