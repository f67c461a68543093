"""Time to accuracy: how quickly each method's linear probe and kNN get good.

    python benchmarks/time_to_accuracy.py                      # every registered method, shapes, 120 s, seed 0
    python benchmarks/time_to_accuracy.py --dataset clutter --seconds 30 --every 3
    python benchmarks/time_to_accuracy.py --methods simclr --dataset digits

Trains each method for ``--seconds`` and evaluates the frozen encoder (linear probe and kNN,
docs/ARCHITECTURE.md protocol) every ``--every`` seconds of *training* time — evaluation time
is not charged to the budget. Reports the seconds until each first reaches 90% and 97% of its
accuracy at the end of the run, the accuracies along the way, and writes its RESULTS.md
section after every method (a long run that is stopped keeps what it measured).
"""

from __future__ import annotations

import argparse
import json

from _results import write_section

from sslviz import evaluate, experiment, methods
from sslviz.train import TrainConfig, Trainer


def curve(method_name: str, dataset: str, seconds: float, every: float, seed: int, method_overrides: dict | None = None,
          train_overrides: dict | None = None, splits: tuple[str, str] = experiment.TEST_PROTOCOL) -> list[tuple[float, float, float]]:
    """(training seconds, probe accuracy, kNN accuracy) every ``every`` seconds, and at the end of the budget.

    ``method_overrides`` / ``train_overrides`` replace defaults (a comparison with other settings); ``splits``: train on,
    score on (``experiment.SELECTION_PROTOCOL`` when the curve chooses a setting).
    """
    method, train, test = experiment.prepare(method_name, dataset, seed, splits, **(method_overrides or {}))
    points: list[tuple[float, float, float]] = []
    next_eval = {"t": 0.0, "step": 0}

    def score() -> tuple[float, float]:
        metrics = evaluate.evaluate_encoder(method.encoder, train, test)
        return metrics["probe_acc"], metrics["knn_acc"]

    def score_now(trainer: Trainer, metrics: dict) -> None:
        if metrics["seconds"] >= next_eval["t"]:
            points.append((metrics["seconds"], *score()))
            next_eval["t"] += every
            next_eval["step"] = metrics["step"]

    config = TrainConfig(**{**methods.train_defaults(method_name, dataset), **(train_overrides or {}), "max_seconds": seconds, "seed": seed,
                            "count_callback_time": False})
    result = Trainer(method, method.inputs(train), config, [score_now]).fit()  # inputs: a multi-modal method trains on its pairs
    if result.steps != next_eval["step"]:
        points.append((result.seconds, *score()))
    return points


def first_time(points: list[tuple[float, ...]], target: float, column: int) -> float:
    return next(p[0] for p in points if p[column] >= target)


def at(points: list[tuple[float, ...]], t: float, column: int) -> float:
    return [p[column] for p in points if p[0] <= t + 1e-9][-1]


def summarise(name: str, points: list[tuple[float, float, float]], checkpoints: tuple[float, ...]) -> dict:
    row: dict = {"method": name}
    for column, metric in ((1, "probe"), (2, "knn")):
        final = points[-1][column]
        row.update({f"{metric}": final, f"{metric}_t90": first_time(points, 0.9 * final, column), f"{metric}_t97": first_time(points, 0.97 * final, column),
                    **{f"{metric}_at{t:g}": at(points, t, column) for t in checkpoints}})
    row["curve"] = [[round(v, 3) for v in p] for p in points]
    return row


def table(rows: list[dict], seconds: float, checkpoints: tuple[float, ...]) -> str:
    head = "| method | " + " | ".join(f"{m} at {seconds:g} s | s to 90% | s to 97% | " + " | ".join(f"at {t:g} s" for t in checkpoints) for m in ("probe", "kNN")) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * (3 + len(checkpoints)))]
    for r in rows:
        cells = []
        for m in ("probe", "knn"):
            cells += [f"{r[m]:.3f}", f"{r[m + '_t90']:.0f}", f"{r[m + '_t97']:.0f}", *(f"{r[f'{m}_at{t:g}']:.3f}" for t in checkpoints)]
        lines.append(f"| {r['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", choices=list(methods.REGISTRY), metavar="METHOD",
                        help="default: every registered method that trains on --dataset (multi-modal ones need their pairs)")
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.seconds <= 0 or args.every <= 0:
        parser.error("--seconds and --every must be > 0")
    if args.methods is None:
        args.methods = [n for n, s in methods.REGISTRY.items() if s.supports(args.dataset)]
    skipped = [n for n in methods.REGISTRY if n not in args.methods]
    checkpoints = tuple(t for t in (10, 30, 60) if t < args.seconds) or (args.seconds / 2,)
    rows = []
    for name in args.methods:
        rows.append(summarise(name, curve(name, args.dataset, args.seconds, args.every, args.seed), checkpoints))
        print(json.dumps(rows[-1]), flush=True)
        done = "" if len(rows) == len(args.methods) else f" **Partial: {len(rows)} of {len(args.methods)} methods so far.**"
        if skipped:
            done += f" Not run here: {', '.join(skipped)} (not asked for, or they do not train on {args.dataset})."
        curves = "\n".join(f"- {r['method']}: " + ", ".join(f"{t:g} s {p:.2f}/{k:.2f}" for t, p, k in r["curve"]) for r in rows)
        write_section(f"time-to-accuracy-{args.dataset}", f"## Time to accuracy on {args.dataset} (time-to-accuracy-{args.dataset})\n\n"
                      f"Linear probe and kNN (docs/ARCHITECTURE.md protocol) every {args.every:g} s of training time; evaluation time "
                      f"not charged; seed {args.seed}; each method's tuned defaults (its own batch size).{done}\n\n" + table(rows, args.seconds, checkpoints)
                      + f"\n\nCurves (training s: probe/kNN):\n\n{curves}")


if __name__ == "__main__":
    main()
