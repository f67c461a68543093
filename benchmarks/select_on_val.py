"""Re-select the tuned defaults on the validation split, never on the test split.

    python benchmarks/select_on_val.py                    # every choice below; ~12 minutes on 2 cores
    python benchmarks/select_on_val.py --choices byol_momentum --seconds 10
    python benchmarks/select_on_val.py --section select-on-val-more --choices photos_transfer_layers simclr_temperature ...

Each candidate trains on ``fit`` (the training split less its fixed validation share) and is scored
on ``val`` (sslviz.experiment.SELECTION_PROTOCOL); the test split, which reports every accuracy in
RESULTS.md and on the pages, is not read. A table of the current default against the
validation winner replaces the ``select-on-val`` section of RESULTS.md. One seed: where two
candidates are within 0.01 the choice is noise, and the table says so.
"""

from __future__ import annotations

import argparse
from typing import Callable

from _results import write_section

from sslviz import evaluate, experiment, methods
from sslviz.train import TrainConfig, configure_threads

Score = Callable[[experiment.Experiment], float]


def knn(exp: experiment.Experiment) -> float:
    return exp.metrics["knn_acc"]


def run(method: str, dataset: str, seconds: float, seed: int, overrides: dict | None = None,
        train_overrides: dict | None = None) -> experiment.Experiment:
    return experiment.run(method, dataset, seconds=seconds, seed=seed, method_overrides=overrides, train_overrides=train_overrides,
                          with_baselines=False, splits=experiment.SELECTION_PROTOCOL)


def transfer_layer_rows(seconds: float, seed: int, datasets: tuple[str, ...] = ("digits", "shapes")) -> list[str]:
    """One training run per pretext task and dataset; kNN on val at each block picks the transfer layer."""
    rows = []
    for task in methods.of_family("pretext"):
        for dataset in datasets:
            if not methods.spec(task).supports(dataset):
                continue
            exp = run(task, dataset, seconds, seed)
            scores = evaluate.layer_scores(exp.method.layer_encoder, exp.train_set, exp.test_set, exp.method.layers)
            by_layer = {layer: s["knn_acc"] for layer, s in scores.items()}
            rows.append(table_row(f"{task} transfer layer", dataset, methods.default_config(task, dataset).transfer_layer, by_layer))
    return rows


def sweep_rows(label: str, method: str, field: str, candidates: tuple, datasets: tuple[str, ...], seconds: float, seed: int,
               train_field: bool = False) -> list[str]:
    """Train once per candidate value of ``field`` (a config field, or a TrainConfig field) and pick the best val kNN."""
    rows = []
    for dataset in datasets:
        current = ({**vars(TrainConfig()), **methods.train_defaults(method, dataset)} if train_field else vars(methods.default_config(method, dataset)))[field]
        scores = {}
        for value in candidates:
            exp = run(method, dataset, seconds, seed, None if train_field else {field: value}, {field: value} if train_field else None)
            scores[value] = knn(exp)
        rows.append(table_row(label, dataset, current, scores))
    return rows


def variant_rows(label: str, method: str, variants: dict[str, dict], datasets: tuple[str, ...], seconds: float, seed: int) -> list[str]:
    """Train once per named variant (several config fields at once; the first is the current default) and pick the best val kNN."""
    rows = []
    for dataset in datasets:
        scores = {name: knn(run(method, dataset, seconds, seed, overrides)) for name, overrides in variants.items()}
        rows.append(table_row(label, dataset, next(iter(variants)), scores))
    return rows


def table_row(label: str, dataset: str, current, scores: dict) -> str:
    best = max(scores, key=scores.get)
    close = scores[best] - scores.get(current, float("nan")) <= 0.01
    verdict = "kept" if best == current else ("kept (within 0.01: noise)" if close else f"**change to {best}**")
    cells = ", ".join(f"{k}: {v:.3f}" for k, v in scores.items())
    return f"| {label} | {dataset} | {current} | {best} | {cells} | {verdict} |"


CHOICES = {
    "transfer_layers": lambda s, seed: transfer_layer_rows(s, seed),
    "byol_momentum": lambda s, seed: sweep_rows("BYOL momentum", "byol", "momentum", (0.5, 0.8, 0.9, 0.99), ("shapes",), s, seed),
    "deepcluster_steps_per_round": lambda s, seed: sweep_rows("DeepCluster steps per round", "deepcluster", "steps_per_round", (25, 50, 100),
                                                              ("digits", "shapes"), s, seed),
    "simsiam_predictor": lambda s, seed: sweep_rows("SimSiam predictor hidden width", "simsiam", "predictor_hidden", (0, 64), ("shapes",), s, seed),
    "clip_schedule": lambda s, seed: sweep_rows("CLIP lr schedule", "clip", "lr_schedule", ("constant", "cosine"), ("shapes",), s, seed, train_field=True),
    # The choices below were made on test figures before the validation split existed (issue 18); written to "select-on-val-more".
    "photos_transfer_layers": lambda s, seed: transfer_layer_rows(s, seed, ("photos",)),
    "simclr_temperature": lambda s, seed: sweep_rows("SimCLR temperature", "simclr", "temperature", (0.1, 0.2, 0.5), ("digits", "shapes"), s, seed),
    "moco_temperature": lambda s, seed: sweep_rows("MoCo temperature", "moco", "temperature", (0.1, 0.2, 0.5), ("shapes",), s, seed),
    "simclr_lr": lambda s, seed: sweep_rows("SimCLR lr", "simclr", "lr", (1e-3, 2e-3, 4e-3), ("shapes",), s, seed, train_field=True),
    "simclr_batch_size": lambda s, seed: sweep_rows("SimCLR batch size", "simclr", "batch_size", (128, 256, 512), ("shapes",), s, seed, train_field=True),
    "mae_mask_ratio": lambda s, seed: sweep_rows("MAE mask ratio", "mae", "mask_ratio", (0.5, 0.75, 0.9), ("digits",), s, seed),
    "deepcluster_k": lambda s, seed: sweep_rows("DeepCluster k", "deepcluster", "k", (10, 30, 60), ("shapes",), s, seed),
    "simsiam_projection": lambda s, seed: variant_rows("SimSiam projection / predictor hidden", "simsiam", {
        "64 / 64": {}, "256 / 64 (the paper's 1/4 bottleneck)": {"proj_dim": 256, "hidden_dim": 256, "predictor_hidden": 64},
        "128 / 64 (a 1/2 bottleneck)": {"proj_dim": 128, "predictor_hidden": 64}}, ("shapes",), s, seed),
    "simsiam_predictor_half": lambda s, seed: sweep_rows("SimSiam predictor hidden width (projection 64)", "simsiam", "predictor_hidden", (64, 32),
                                                         ("shapes",), s, seed),
}
FIRST = ("transfer_layers", "byol_momentum", "deepcluster_steps_per_round", "simsiam_predictor", "clip_schedule")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--choices", nargs="+", default=list(FIRST), choices=list(CHOICES))
    parser.add_argument("--section", default="select-on-val", help="RESULTS.md section to write (select-on-val-more for the later choices)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    threads = configure_threads()
    rows = []
    for choice in args.choices:
        for r in CHOICES[choice](args.seconds, args.seed):
            print(r, flush=True)
            rows.append(r)
    write_section(args.section, "\n".join([
        "## Defaults re-selected on the validation split" + ("" if args.section == "select-on-val" else f" ({args.section})"),
        "",
        f"`benchmarks/select_on_val.py`: each candidate trains {args.seconds:g} s on `fit` and is scored by kNN on `val` "
        f"({threads} threads, seed {args.seed}); the test split is never read. `current`: the default before this selection.",
        "",
        "| choice | dataset | current | best on val | val kNN per candidate | verdict |",
        "|---|---|---|---|---|---|",
        *rows,
    ]))


if __name__ == "__main__":
    main()
