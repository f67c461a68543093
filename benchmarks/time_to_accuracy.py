"""Time to accuracy: how quickly each method's linear probe gets good.

    python benchmarks/time_to_accuracy.py                      # every method, shapes, 120 s, seed 0
    python benchmarks/time_to_accuracy.py --methods simclr --dataset digits

Trains each method for ``--seconds`` and evaluates the frozen encoder (linear probe, docs/ARCHITECTURE.md
protocol) every ``--every`` seconds of *training* time — evaluation time is not charged to
the budget. Reports the seconds until the probe first reaches 90% and 97% of its accuracy at
the end of the run, and the probe accuracy at 10, 30 and 60 s.
"""

from __future__ import annotations

import argparse
import json

from _results import write_section

from sslviz import evaluate, experiment, methods
from sslviz.train import TrainConfig, Trainer


def curve(method_name: str, dataset: str, seconds: float, every: float, seed: int) -> list[tuple[float, float]]:
    method, train, test = experiment.prepare(method_name, dataset, seed)
    points: list[tuple[float, float]] = []
    next_eval = {"t": 0.0}

    def probe_now(trainer: Trainer, metrics: dict) -> None:
        if metrics["seconds"] >= next_eval["t"]:
            xtr = evaluate.extract_features(method.encoder, train.images)
            xte = evaluate.extract_features(method.encoder, test.images)
            points.append((metrics["seconds"], evaluate.linear_probe(xtr, train.labels, xte, test.labels)))
            next_eval["t"] += every

    config = TrainConfig(**{**methods.train_defaults(method_name, dataset), "max_seconds": seconds, "seed": seed, "count_callback_time": False})
    Trainer(method, train.images, config, [probe_now]).fit()
    final = evaluate.evaluate_encoder(method.encoder, train, test)["probe_acc"]
    points.append((seconds, final))
    return points


def first_time(points: list[tuple[float, float]], target: float) -> float:
    return next(t for t, acc in points if acc >= target)


def at(points: list[tuple[float, float]], t: float) -> float:
    return [acc for s, acc in points if s <= t + 1e-9][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(methods.REGISTRY))
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for name in args.methods:
        pts = curve(name, args.dataset, args.seconds, args.every, args.seed)
        final = pts[-1][1]
        row = {"method": name, "final": final, "t90": first_time(pts, 0.9 * final), "t97": first_time(pts, 0.97 * final),
               **{f"at{int(t)}": at(pts, t) for t in (10, 30, 60)}}
        print(json.dumps(row), flush=True)
        rows.append(row)
    table = "| method | probe at {s:g} s | s to 90% of it | s to 97% of it | probe at 10 s | at 30 s | at 60 s |\n|---|---|---|---|---|---|---|\n".format(s=args.seconds)
    table += "\n".join(f"| {r['method']} | {r['final']:.3f} | {r['t90']:.0f} | {r['t97']:.0f} | {r['at10']:.3f} | {r['at30']:.3f} | {r['at60']:.3f} |" for r in rows)
    write_section(f"time-to-accuracy-{args.dataset}", f"## Time to accuracy on {args.dataset} (time-to-accuracy-{args.dataset})\n\n"
                  f"Linear probe (docs/ARCHITECTURE.md protocol) every {args.every:g} s of training time; evaluation time not charged; seed {args.seed}.\n\n" + table)


if __name__ == "__main__":
    main()
