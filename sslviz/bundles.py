"""Run bundles: one zip holding everything about a run, to hand in, share and restore.

    config.json          what ran and what it scored: method, dataset, seed, settings, budget, steps, accuracies
    metrics.csv          the full training history, one row per step
    weights.safetensors  the trained method (the sslviz.checkpoints format: no pickles)
    embeddings.npy       frozen encoder features of the test split, N×D float32
    figures/*.html       the loss curve and the accuracy chart as standalone pages (plotly.js inside)

Importing treats the zip as untrusted: sizes are capped before anything is decompressed, only the
members above are read, numbers must be numbers, arrays load without pickle, and the weights go
through :func:`sslviz.checkpoints.from_bytes`.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from sslviz import checkpoints, data, experiment, methods, viz
from sslviz.train import TrainConfig, TrainResult

MAX_ZIP_BYTES = 40 * 2**20
MAX_MEMBER_BYTES = {"config.json": 2**20, "metrics.csv": 20 * 2**20, "weights.safetensors": checkpoints.MAX_BYTES, "embeddings.npy": 40 * 2**20}
REQUIRED = tuple(MAX_MEMBER_BYTES)


class BundleError(ValueError):
    """A run bundle that cannot be imported; the message says why."""


@dataclass
class Bundle:
    """An imported run: its record (config.json), history, trained method and test-split embeddings."""

    record: dict[str, Any]
    history: list[dict[str, float]]
    method: methods.Method
    embeddings: np.ndarray


def export(exp: experiment.Experiment) -> bytes:
    """The zip of a trained (or loaded) experiment."""
    method = exp.method.cpu().eval()
    embeddings = method.embed(exp.test_set.images).numpy().astype(np.float32)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(exp.summary(), indent=2, default=float))
        history = io.StringIO()
        checkpoints.write_history(exp.result.history, history)
        z.writestr("metrics.csv", history.getvalue())
        z.writestr("weights.safetensors", checkpoints.to_bytes(method, exp.method_name, exp.dataset))
        array = io.BytesIO()
        np.save(array, embeddings, allow_pickle=False)
        z.writestr("embeddings.npy", array.getvalue())
        for name, figure in figures(exp.summary(), exp.result.history).items():
            z.writestr(f"figures/{name}.html", figure.to_html(include_plotlyjs=True, full_html=True))
    return out.getvalue()


def figures(summary: dict[str, Any], history: list[dict[str, float]]) -> dict[str, Any]:
    """The run's main figures: the loss curve and, when evaluated, the accuracy chart against the baselines."""
    out = {}
    if history:
        out["loss"] = viz.line_chart(history, ["loss"], f"{summary['method']} on {summary['dataset']}: training loss")
    rows = {label: {"linear probe": summary[f"{p}probe_acc"], "kNN": summary[f"{p}knn_acc"]}
            for label, p in ((summary["method"], ""), ("random init", "random_init_"), ("raw pixels", "raw_pixel_")) if f"{p}probe_acc" in summary}
    if rows:
        out["accuracy"] = viz.accuracy_bars(rows, f"Held-out test accuracy on {summary['dataset']}")
    return out


def load(blob: bytes, name: str = "bundle") -> Bundle:
    """Read and validate a bundle made by :func:`export`; BundleError names what is wrong."""
    if len(blob) > MAX_ZIP_BYTES:
        raise BundleError(f"{name} is {len(blob) / 2**20:.0f} MB; a run bundle is at most {MAX_ZIP_BYTES // 2**20} MB.")
    try:
        z = zipfile.ZipFile(io.BytesIO(blob))
        infos = {i.filename: i for i in z.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise BundleError(f"{name} is not a zip file ({err}).") from None
    missing = [m for m in REQUIRED if m not in infos]
    if missing:
        raise BundleError(f"{name} is not an sslviz run bundle: it lacks {', '.join(missing)}.")
    for member, limit in MAX_MEMBER_BYTES.items():
        if infos[member].file_size > limit:  # checked before decompressing: no zip bombs
            raise BundleError(f"{name}: {member} would unpack to {infos[member].file_size / 2**20:.0f} MB (at most {limit / 2**20:.0f} MB).")
    try:
        raw = {member: z.read(member) for member in REQUIRED}
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as err:  # corrupt data, encrypted members
        raise BundleError(f"{name} is damaged: {err}.") from None
    try:
        record = json.loads(raw["config.json"])
        if not isinstance(record, dict) or not {"method", "dataset", "seed"} <= set(record):
            raise ValueError("it needs method, dataset and seed")
        history = checkpoints.read_history(io.StringIO(raw["metrics.csv"].decode("utf-8")))
        embeddings = np.load(io.BytesIO(raw["embeddings.npy"]), allow_pickle=False)
    except (ValueError, UnicodeDecodeError) as err:
        raise BundleError(f"{name}: a member is unreadable — {err}.") from None
    try:
        method, header = checkpoints.from_bytes(raw["weights.safetensors"], method_name=record["method"], dataset=record["dataset"], name=f"{name}: weights")
    except checkpoints.CheckpointError as err:
        raise BundleError(str(err)) from None
    if embeddings.ndim != 2 or embeddings.dtype.kind != "f" or not np.isfinite(embeddings).all():
        raise BundleError(f"{name}: embeddings.npy must be a finite N×D float array, got {embeddings.dtype} {embeddings.shape}.")
    return Bundle(record, history, method, embeddings)


def to_experiment(bundle: Bundle) -> experiment.Experiment:
    """The imported run as an Experiment (its recorded metrics, no re-evaluation), for the pages' usual views."""
    r = bundle.record
    return from_record(r, bundle.method, bundle.history, f"Imported run: {r['method']} on {r['dataset']}, seed {r['seed']}, {r.get('steps', '?')} steps.")


def from_record(record: dict[str, Any], method: methods.Method, history: list[dict[str, float]], message: str) -> experiment.Experiment:
    """An Experiment rebuilt from a run record (``Experiment.summary()``), its trained method and its history."""
    try:
        seed = int(record["seed"])
        train_set, test_set = data.load(record["dataset"], "train", seed), data.load(record["dataset"], "test", seed)
        train_config = TrainConfig(**record["train_config"]) if isinstance(record.get("train_config"), dict) else TrainConfig()
    except (TypeError, ValueError) as err:
        raise BundleError(f"config.json describes a run sslviz cannot restore: {err}") from None
    result = TrainResult(steps=int(record.get("steps", len(history))), seconds=float(record.get("seconds", 0.0)), history=history, message=message)
    exp = experiment.Experiment(record["method"], record["dataset"], seed, method, train_set, test_set, train_config, result)
    exp.metrics = {k: float(v) for k, v in record.items() if k.endswith(("_acc", "_mse", "_seconds")) and isinstance(v, (int, float))}
    return exp
