"""Command line.

    python -m sslviz bench --method simclr --dataset digits --seconds 30 --json
    python -m sslviz pretrain --method simclr --dataset shapes      # writes models/simclr-shapes.safetensors + a manifest entry
    python -m sslviz pretrain --all
    python -m sslviz export --method simclr --dataset shapes --seconds 30 --out run.zip   # a run bundle (see sslviz.bundles)
    python -m sslviz download cifar10                                # into $SSLVIZ_DATA_DIR (default ~/.cache/sslviz/data)
"""

from __future__ import annotations

import argparse
import json
import sys

from sslviz import augment, data, methods
from sslviz.data import own
from sslviz.train import DEVICES

PRETRAIN_DATASET = "shapes"  # the sidebar's default, and every method trains on it
PRETRAIN_STEPS = 500


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value != value:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _run_arguments(parser: argparse.ArgumentParser, dataset: str) -> None:
    """The flags of a training run: method, dataset, budget and seed."""
    parser.add_argument("--method", default="simclr", choices=sorted(methods.REGISTRY))
    parser.add_argument("--dataset", default=dataset, choices=data.names())
    _data_arguments(parser)
    parser.add_argument("--seconds", type=_positive_float, default=30.0, help="training budget in seconds (default 30)")
    parser.add_argument("--steps", type=_non_negative_int, default=None, help="training budget in steps (optional)")
    parser.add_argument("--seed", type=_non_negative_int, default=0)


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data PATH`` (your own images instead of ``--dataset``) and its ``--augment`` preset."""
    parser.add_argument("--data", metavar="PATH", default=None,
                        help="train on your own images instead: a folder (class subfolders become labels; train/ and test/ keep your split)")
    parser.add_argument("--augment", default=None, choices=sorted(augment.PRESETS),
                        help=f"with --data: the augmentation preset (default: {own.OWN_AUGMENT!r}, as for photos)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sslviz", description="sslviz: self-supervised learning you can watch.")
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="train a method for a budget and report probe/kNN accuracy vs baselines")
    _run_arguments(bench, "digits")
    bench.add_argument("--device", default="auto", choices=DEVICES)
    bench.add_argument("--no-baselines", action="store_true", help="skip the raw-pixel and random-init baselines")
    bench.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    pre = sub.add_parser("pretrain", help="train a method's default configuration reproducibly (a step budget) and write its checkpoint and manifest entry")
    pre.add_argument("--method", choices=sorted(methods.REGISTRY))
    pre.add_argument("--dataset", choices=data.names(), help=f"default: {PRETRAIN_DATASET}")
    _data_arguments(pre)
    pre.add_argument("--all", action="store_true", help=f"every method in the registry on {PRETRAIN_DATASET}")
    pre.add_argument("--steps", type=_non_negative_int, default=PRETRAIN_STEPS, help=f"training steps (default {PRETRAIN_STEPS})")
    pre.add_argument("--seed", type=_non_negative_int, default=0)
    pre.add_argument("--out", default=None, help="folder for the checkpoints and manifest.json (default: models/)")
    export = sub.add_parser("export", help="train a method (or load its shipped checkpoint) and write a run bundle zip")
    _run_arguments(export, "shapes")
    export.add_argument("--pretrained", action="store_true", help="export the shipped checkpoint from models/ instead of training")
    export.add_argument("--out", required=True, help="the zip to write")
    down = sub.add_parser("download", help="download a standard dataset into the data directory ($SSLVIZ_DATA_DIR)")
    down.add_argument("dataset", choices=[d.name for d in data.REGISTRY.values() if d.files is not None])
    return parser


def download(args: argparse.Namespace) -> int:
    from sslviz import downloads
    from sslviz.data import files

    entry = data.info(args.dataset).files
    if not entry.missing():
        print(f"{entry.title} is already in {entry.path()}.")
        return 0
    print(f"[sslviz] downloading {entry.title} ({entry.download_mb:,.0f} MB) into {files.data_dir()}...", file=sys.stderr, flush=True)
    downloads.fetch(args.dataset)
    print(f"{entry.title} is ready in {entry.path()}.")
    return 0


def export(args: argparse.Namespace) -> int:
    from sslviz import bundles, experiment

    status = lambda s: print(f"[sslviz] {s}...", file=sys.stderr)  # noqa: E731
    if args.pretrained:
        exp = experiment.from_checkpoint(args.method, args.dataset, on_status=status)
    else:
        exp = experiment.run(args.method, args.dataset, seconds=args.seconds, steps=args.steps, seed=args.seed, on_status=status)
        if exp.result.diverged:
            print(f"error: {exp.result.message}", file=sys.stderr)
            return 1
    with open(args.out, "wb") as f:
        f.write(bundles.export(exp))
    print(json.dumps({"out": args.out, **{k: v for k, v in exp.summary().items() if k in ("method", "dataset", "seed", "steps", "probe_acc", "knn_acc")}}))
    return 0


def bench(args: argparse.Namespace) -> int:
    from sslviz import experiment

    exp = experiment.run(
        args.method, args.dataset, seconds=args.seconds, steps=args.steps, seed=args.seed, device=args.device,
        with_baselines=not args.no_baselines, on_status=lambda s: print(f"[sslviz] {s}...", file=sys.stderr),
    )
    summary = exp.summary()
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>28}: {value}")
    if exp.result.diverged:
        print(f"error: {exp.result.message}", file=sys.stderr)
        return 1
    return 0


def pretrain(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sslviz import checkpoints, experiment

    if args.all == bool(args.method):
        raise ValueError("give either --method M or --all.")
    out = Path(args.out) if args.out else checkpoints.MODELS
    for name in sorted(methods.REGISTRY) if args.all else [args.method]:
        dataset = args.dataset or PRETRAIN_DATASET
        print(f"[sslviz] pretraining {name} on {dataset} for {args.steps} steps (seed {args.seed})...", file=sys.stderr)
        exp = experiment.run(name, dataset, seconds=None, steps=args.steps, seed=args.seed, device="cpu", with_baselines=False)
        if exp.result.diverged:
            print(f"error: {name}: {exp.result.message}", file=sys.stderr)
            return 1
        file, history = f"{name}-{dataset}.safetensors", f"{name}-{dataset}.history.csv"
        digest = checkpoints.save(exp.method, name, dataset, out / file)
        checkpoints.write_history(exp.result.history, out / history)
        entry = {"file": file, "history": history, **{k: v for k, v in exp.summary().items() if k not in ("stopped_by", "message")},
                 "sha256": digest, "versions": checkpoints.versions()}
        checkpoints.write_entry(f"{name}/{dataset}", entry, out / "manifest.json")
        print(json.dumps({k: entry[k] for k in ("file", "steps", "seconds", "probe_acc", "knn_acc", "sha256")}))
    return 0


def use_own_images(args: argparse.Namespace) -> None:
    """With ``--data PATH``: decode the folder once (cached) and train on it as ``args.dataset``."""
    if getattr(args, "data", None) is None:
        if getattr(args, "augment", None) is not None:
            raise ValueError("--augment goes with --data (a registered dataset has its own preset).")
        return

    def shown(done: int, total: int) -> None:
        print(f"\r[sslviz] decoding your images: {done:,} of {total:,}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    args.dataset = own.prepare_folder(args.data, progress=shown, augment=args.augment or own.OWN_AUGMENT)
    print(f"[sslviz] {own.title(args.dataset)} is dataset {args.dataset}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        use_own_images(args)
        return {"pretrain": pretrain, "export": export, "download": download}.get(args.command, bench)(args)
    except ValueError as err:  # bad settings: a clear message, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
