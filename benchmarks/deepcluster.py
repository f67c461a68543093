"""DeepCluster: NMI/ARI per round, and k-means on four feature sets under one recipe.

    python benchmarks/deepcluster.py                       # digits and shapes, 60 s each (about 8 minutes)
    python benchmarks/deepcluster.py --runs shapes:30

For each dataset: DeepCluster's per-round NMI/ARI of the pseudo-labels with the true class
(the labels only score, never train), then ``recipes.clustering_comparison_job``: k-means with
the same k, PCA-whitening and seed on raw pixels, a random-init CNN, SimCLR and DeepCluster,
each trained for the same time. Rows replace the ``deepcluster`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse

from _results import write_section

from sslviz import jobs, recipes
from sslviz.train import configure_threads


def per_round(dataset: str, seconds: float, seed: int) -> tuple[str, dict]:
    job = jobs.Job(name="bench")
    recipes.experiment_job("deepcluster", dataset, seconds, seed, "auto", train_overrides={"num_threads": configure_threads()},
                        track_rounds=True, few_labels=())(job)
    state = job.view().state
    rounds, s = state["rounds"], state["summary"]
    shown = sorted({0, len(rounds) // 4, len(rounds) // 2, 3 * len(rounds) // 4, len(rounds) - 1})
    cues = [key for key in rounds[0] if key.startswith("nmi_") and key != "nmi_previous"]
    def row(cells: list) -> str:
        return "| " + " | ".join(str(c) for c in cells) + " |"

    lines = [row([dataset, r["round"], r["step"], f"**{r['nmi']:.3f}**", f"{r['ari']:.3f}", *(f"{r[c]:.3f}" for c in cues), r["empty"],
                  f"{r['changed']:.2f}" if "changed" in r else "—"]) for r in (rounds[i] for i in shown)]
    header = (row(["data", "round", "step", "NMI class", "ARI class", *(f"NMI {c[4:]}" for c in cues), "empty clusters", "changed since previous round"])
              + "\n|" + "---|" * (7 + len(cues)) + "\n")
    text = (f"**{dataset}, {seconds:g} s: {s['steps']} steps, {len(rounds)} rounds** (k = {s['config']['k']}, {s['config']['steps_per_round']} steps per round, "
            f"Sobel {s['config']['sobel']}). Frozen-feature probe {s['probe_acc']:.3f} / kNN {s['knn_acc']:.3f}; random-init encoder "
            f"{s['random_init_probe_acc']:.3f} / {s['random_init_knn_acc']:.3f}; raw pixels {s['raw_pixel_probe_acc']:.3f} / {s['raw_pixel_knn_acc']:.3f}.\n\n"
            + header + "\n".join(lines) + "\n")
    return text, s


def comparison(dataset: str, seconds: float, seed: int, k: int) -> str:
    job = jobs.Job(name="bench")
    recipes.clustering_comparison_job(dataset, seconds, seed, "auto", k)(job)
    rows = job.view().state["rows"]
    cues = [c for c in next(iter(rows.values())) if c.startswith("nmi_")]
    out = (f"k-means (k = {k}, PCA-whitened to 32 dims, seed {seed}) on the {dataset} training images:\n\n"
           "| " + " | ".join(["features", "NMI class", "ARI class", *(f"NMI {c[4:]}" for c in cues)]) + " |\n|" + "---|" * (3 + len(cues)) + "\n")
    for name, r in rows.items():
        out += "| " + " | ".join([name, f"**{r['nmi']:.3f}**", f"{r['ari']:.3f}", *(f"{r[c]:.3f}" for c in cues)]) + " |\n"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", default=["digits:60", "shapes:60"], help="dataset:seconds pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    threads = configure_threads()
    text = (f"## DeepCluster (deepcluster)\n\n`python benchmarks/deepcluster.py --runs {' '.join(args.runs)}` — {threads} torch threads, seed {args.seed}, "
            "default settings (PCA-whitening to 32 dims, Sobel input, empty-cluster fix, uniform sampling over pseudo-labels). "
            "NMI/ARI of each round's pseudo-labels with the true class on the training images; round 1 is k-means on the random-init encoder.\n\n")
    for run in args.runs:
        dataset, seconds = run.split(":")
        part, summary = per_round(dataset, float(seconds), args.seed)
        text += part + "\n" + comparison(dataset, float(seconds), args.seed, summary["config"]["k"]) + "\n"
        print(text, flush=True)
    write_section("deepcluster", text)


if __name__ == "__main__":
    main()
