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
import math
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from sslviz import checkpoints, data, experiment, methods, viz
from sslviz.train import TrainConfig, TrainResult

MAX_ZIP_BYTES = 40 * 2**20
MAX_MEMBER_BYTES = {"config.json": 2**20, "metrics.csv": 20 * 2**20, "weights.safetensors": checkpoints.MAX_BYTES, "embeddings.npy": 40 * 2**20}
REQUIRED = tuple(MAX_MEMBER_BYTES)
MAX_TEXT = 10_000  # characters of a text field of config.json (the run's message is a sentence)
MAX_NAME = 64  # characters of a method or dataset name
EMBEDDING_DTYPES = ("<f4", "<f8")


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
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise BundleError(f"{name} is not a zip file ({_brief(err)}).") from None
    missing = [m for m in REQUIRED if m not in infos]
    if missing:
        raise BundleError(f"{name} is not an sslviz run bundle: it lacks {', '.join(missing)}.")
    for member, limit in MAX_MEMBER_BYTES.items():
        if infos[member].file_size > limit:  # checked before decompressing: no zip bombs
            raise BundleError(f"{name}: {member} would unpack to {infos[member].file_size / 2**20:.0f} MB (at most {limit / 2**20:.0f} MB).")
    try:
        raw = {member: z.read(member) for member in REQUIRED}
    except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, EOFError, ValueError, NotImplementedError) as err:  # corrupt data, encrypted or odd members
        raise BundleError(f"{name} is damaged: {_brief(err)}.") from None
    try:
        record = check_record(json.loads(raw["config.json"]))
        history = checkpoints.read_history(io.StringIO(raw["metrics.csv"].decode("utf-8")))
        embeddings = read_embeddings(raw["embeddings.npy"])
    except RecursionError:
        raise BundleError(f"{name}: config.json is nested too deeply to be a run record.") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise BundleError(f"{name}: a member is unreadable — {_brief(err).rstrip('.')}.") from None
    try:
        method, header = checkpoints.from_bytes(raw["weights.safetensors"], method_name=record["method"], dataset=record["dataset"], name=f"{name}: weights")
    except checkpoints.CheckpointError as err:
        raise BundleError(str(err)) from None
    if not np.isfinite(embeddings).all():
        raise BundleError(f"{name}: embeddings.npy holds NaN or infinite values.")
    return Bundle(record, history, method, embeddings)


def _brief(err: Exception, limit: int = 300) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_embeddings(blob: bytes) -> np.ndarray:
    """An N×D float array from .npy bytes; its header is checked against the bytes present before any allocation."""
    f = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f"format version {version}")
        shape, fortran, dtype = read_header(f, max_header_size=10_000)
    except (ValueError, SyntaxError, TypeError, EOFError, OverflowError) as err:
        raise ValueError(f"embeddings.npy has no valid .npy header ({_brief(err, 120)})") from None
    if len(shape) != 2 or dtype.str not in EMBEDDING_DTYPES or fortran:
        raise ValueError(f"embeddings.npy must be an N×D float32 array, got {dtype.str} {shape}")
    if math.prod(shape) * dtype.itemsize != len(blob) - f.tell():  # a header that declares more than the file holds
        raise ValueError(f"embeddings.npy declares {shape[0]}×{shape[1]} values but holds {len(blob) - f.tell()} bytes of data")
    return np.frombuffer(blob, dtype=dtype, offset=f.tell()).reshape(shape).astype(np.float32)  # a writable copy


def _number(record: dict[str, Any], key: str, low: float, high: float, integer: bool = False) -> None:
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise ValueError(f"config.json: {key} must be {'a whole number' if integer else 'a number'}, got {_short(value)}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"config.json: {key} must be between {low:g} and {high:g}, got {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**60 else "a 60-digit number"
    return text if len(text) <= 60 else text[:57] + "..."


def check_record(record: Any) -> dict[str, Any]:
    """``record`` (a parsed config.json) if it is a run record sslviz wrote; ValueError names the first bad field.

    Text fields are text of bounded length, seed and steps whole numbers in range, seconds finite,
    every accuracy (``*_acc``) in [0, 1] and every error or time (``*_mse``, ``*_seconds``) finite and >= 0.
    """
    if not isinstance(record, dict) or not {"method", "dataset", "seed"} <= set(record):
        raise ValueError("config.json needs method, dataset and seed")
    for key, limit in (("method", MAX_NAME), ("dataset", MAX_NAME), ("message", MAX_TEXT), ("stopped_by", MAX_NAME)):
        if key in record and not (isinstance(record[key], str) and len(record[key]) <= limit):
            raise ValueError(f"config.json: {key} must be text (at most {limit:,} characters), got {_short(record[key])}")
    splits = record.get("splits", ["train", "test"])
    if not (isinstance(splits, list) and len(splits) == 2 and all(isinstance(x, str) and len(x) <= MAX_NAME for x in splits)):
        raise ValueError(f"config.json: splits must name two splits (train on, test on), got {_short(splits)}")
    for key in ("config", "train_config"):
        if key in record and not isinstance(record[key], dict):
            raise ValueError(f"config.json: {key} must be an object, got {_short(record[key])}")
    _number(record, "seed", 0, 2**32 - 1, integer=True)
    if "steps" in record:
        _number(record, "steps", 0, 10**8, integer=True)
    for key in record:
        if key == "seconds" or key.endswith(("_mse", "_seconds")):
            _number(record, key, 0, 10**7)
        elif key.endswith("_acc"):
            _number(record, key, 0, 1)
    return record


def restore(blob: bytes, name: str = "bundle", method_name: str | None = None) -> experiment.Experiment:
    """Import an untrusted bundle as an Experiment; with ``method_name``, only a run of that method. BundleError says why not."""
    bundle = load(blob, name)
    if method_name is not None and bundle.record["method"] != method_name:
        raise BundleError(f"{name} holds a {bundle.record['method']} run; this section shows {method_name} runs.")
    return to_experiment(bundle)


def to_experiment(bundle: Bundle) -> experiment.Experiment:
    """The imported run as an Experiment (its recorded metrics, no re-evaluation), for the pages' usual views."""
    r = bundle.record
    return from_record(r, bundle.method, bundle.history, f"Imported run: {r['method']} on {r['dataset']}, seed {r['seed']}, {r.get('steps', '?')} steps.")


def from_record(record: dict[str, Any], method: methods.Method, history: list[dict[str, float]], message: str) -> experiment.Experiment:
    """An Experiment rebuilt from a run record (``Experiment.summary()``), its trained method and its history."""
    try:
        check_record(record)
        seed = record["seed"]
        train_set, test_set = data.load(record["dataset"], "train", seed), data.load(record["dataset"], "test", seed)
        # The device is where the run trained, not where it must be restored: a CUDA run imports on a CPU-only machine.
        recorded = record.get("train_config", {})
        train_config = TrainConfig(**{**recorded, "device": "auto"}) if recorded else TrainConfig()
    except (TypeError, ValueError) as err:
        raise BundleError(f"config.json describes a run sslviz cannot restore: {_brief(err)}") from None
    result = TrainResult(steps=record.get("steps", len(history)), seconds=float(record.get("seconds", 0.0)), history=history, message=message)
    exp = experiment.Experiment(record["method"], record["dataset"], seed, method, train_set, test_set, train_config, result)
    exp.metrics = {k: float(v) for k, v in record.items() if k.endswith(("_acc", "_mse", "_seconds")) and isinstance(v, (int, float))}
    return exp
