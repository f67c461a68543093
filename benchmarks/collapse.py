"""Every anti-collapse mechanism, normal and broken, under one step budget: does the detector say what happened?

    python benchmarks/collapse.py                         # every mechanism on shapes, 300 steps, seed 0; ~10 minutes
    python benchmarks/collapse.py --steps 150 --datasets digits --mechanisms "redundancy reduction"

The runs are the Collapse page's (``recipes.mechanism_runs``: each method of a mechanism with its
defaults, then each "break it" variant from its registry entry). Each row: std × √d of the
normalised embedding and its effective rank at the last step, the detector's verdict
(``diagnostics.collapse_kind``) and kNN of the frozen encoder (test split) against a random-init
encoder. Rows replace the ``collapse`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse

from _results import RESULTS, write_section

from sslviz import diagnostics, experiment, methods, recipes
from sslviz.train import configure_threads


def row(mechanism: str, label: str, name: str, overrides: dict, dataset: str, steps: int, seed: int) -> str:
    exp = experiment.run(name, dataset, seconds=None, steps=steps, seed=seed, method_overrides=overrides)
    h = exp.result.history
    last, dim = h[-1], int(h[-1]["embedding_dim"])
    kind = diagnostics.collapse_kind(h) or "healthy"
    extra = ", ".join(f"{k} {last[k]:.2f}" for k in ("teacher_entropy", "kl", "prototypes_used", "on_diagonal", "variance") if k in last)
    return (f"| {dataset} | {mechanism} | {label} | {exp.result.steps} | {diagnostics.spread(last):.3f} | {last['effective_rank']:.1f} of {dim} | "
            f"{last['raw_std'] / h[0]['raw_std']:.2f} | "
            f"{kind} | {exp.metrics['knn_acc']:.3f} | {exp.metrics['random_init_knn_acc']:.3f} | {extra} |")


def kept_rows(rerun: list[str]) -> list[str]:
    """The section's existing rows of the mechanisms not rerun now (so one mechanism can be re-measured alone)."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    section = text.split("<!-- collapse:start -->")[-1].split("<!-- collapse:end -->")[0] if "<!-- collapse:start -->" in text else ""
    return [line for line in section.splitlines() if line.startswith("| ") and line.count("|") > 5 and not line.startswith("| dataset")
            and not line.startswith("|---") and line.split("|")[2].strip() not in rerun]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["shapes"])
    parser.add_argument("--mechanisms", nargs="+", default=list(methods.COLLAPSE_MECHANISMS), choices=list(methods.COLLAPSE_MECHANISMS))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print the rows only")
    args = parser.parse_args()
    threads = configure_threads()
    rows = [] if set(args.mechanisms) == set(methods.COLLAPSE_MECHANISMS) else kept_rows(args.mechanisms)
    for d in args.datasets:
        for mechanism in args.mechanisms:
            for label, (name, overrides) in recipes.mechanism_runs(mechanism, d).items():
                rows.append(row(mechanism, label, name, overrides, d, args.steps, args.seed))
                print(rows[-1], flush=True)
    if args.no_write:
        return
    write_section("collapse", "\n".join([
        "## Collapse: every mechanism, normal and broken",
        "",
        f"`benchmarks/collapse.py`: {args.steps} steps, seed {args.seed}, each method's default batch and lr, {threads} threads. "
        "std × √d of the L2-normalised embedding (≈ 1 spread, 0 collapsed) and its effective rank at the last step; verdict: "
        f"the app's detector (total: std × √d < {diagnostics.COLLAPSE_STD_RATIO}, rank < {diagnostics.COLLAPSE_RANK} or raw std below "
        f"{diagnostics.COLLAPSE_SHRINK:.0%} of its first value; dimensional: rank < "
        f"{diagnostics.DIMENSIONAL_RANK_SHARE:.0%} of d); kNN on the frozen encoder (test split) against a random-init encoder.",
        "",
        "DINO and SwAV are measured on their output distributions (softmax over K outputs / prototypes), the others on their projections.",
        "",
        "| dataset | mechanism | run | steps | std × √d | effective rank | raw std, last / first | verdict | kNN | random-init kNN | method's own signals |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]))


if __name__ == "__main__":
    main()
