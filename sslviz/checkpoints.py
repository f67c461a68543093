"""Checkpoints: a trained method's weights in safetensors, checked before anything is built from them.

A checkpoint is a ``.safetensors`` file (tensors plus a small JSON header: method, dataset,
config) and, for the models shipped in ``models/``, an entry in ``models/manifest.json`` that
records how it was made and the sha256 of the file. Loading refuses, with a message naming the
problem, a file whose hash does not match, a truncated or corrupt file, a pickle payload
(``torch.save``/``pickle`` files can run code when loaded: they are never unpickled here), and
weights that belong to another method or architecture.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from sslviz import methods

MODELS = Path(__file__).resolve().parents[1] / "models"
MANIFEST = MODELS / "manifest.json"
MAX_BYTES = 64 * 1024 * 1024  # the shipped checkpoints are well under 1 MB each; anything this big is not ours
FORMAT = "sslviz-checkpoint-1"
MAX_HEADER_BYTES = 2**20  # the JSON header of a safetensors file: ours are a few KB (tensor names, shapes, the config)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says why."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_bytes(method: methods.Method, method_name: str, dataset: str) -> bytes:
    """The method's weights (every parameter and buffer) as safetensors bytes, with what built them in the header."""
    state = {k: v.detach().cpu().contiguous().clone() for k, v in method.state_dict().items()}
    header = {"format": FORMAT, "method": method_name, "dataset": dataset, "config": asdict(method.config)}
    # One metadata entry holding sorted JSON: safetensors writes a metadata map in arbitrary order, which would change the file's hash.
    return save_safetensors(state, metadata={"sslviz": json.dumps(header, sort_keys=True)})


def save(method: methods.Method, method_name: str, dataset: str, path: str | Path) -> str:
    """Write the checkpoint to ``path``; returns its sha256."""
    data = to_bytes(method, method_name, dataset)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data)
    return sha256(data)


def from_bytes(data: bytes, expected_sha256: str | None = None, method_name: str | None = None, dataset: str | None = None,
               name: str = "checkpoint") -> tuple[methods.Method, dict[str, Any]]:
    """Build the method from checkpoint bytes (untrusted input); returns it in eval mode on the CPU with the header.

    ``expected_sha256`` (from a manifest) must match; ``method_name``/``dataset``, when given, must be what the
    checkpoint says it holds. Raises CheckpointError naming the problem.
    """
    if len(data) > MAX_BYTES:
        raise CheckpointError(f"{name} is {len(data) / 2**20:.0f} MB; sslviz checkpoints are under {MAX_BYTES // 2**20} MB.")
    if expected_sha256 is not None and sha256(data) != expected_sha256:
        raise CheckpointError(f"{name} does not match its manifest: sha256 {sha256(data)[:12]}… instead of {expected_sha256[:12]}… "
                              "(the file was changed or replaced).")
    if data[:2] == b"PK" or data[:1] == b"\x80":
        raise CheckpointError(f"{name} holds a pickle payload (a torch.save or pickle file). Pickles can run code when loaded, "
                              "so sslviz refuses them: use a .safetensors checkpoint.")
    try:
        header = _header(data)  # before the tensors: a forged header is refused without reading them
        state = load_safetensors(data)
    except (SafetensorError, ValueError, RecursionError) as err:  # RecursionError: JSON nested thousands deep
        raise CheckpointError(f"{name} is truncated or not a safetensors file ({_brief(err)}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{name} is a safetensors file but not an sslviz checkpoint (no {FORMAT!r} header).")
    for key, wanted in (("method", method_name), ("dataset", dataset)):
        if wanted is not None and header.get(key) != wanted:
            raise CheckpointError(f"{name} holds a {header.get(key)!r} {key}, not {wanted!r}.")
    if not (isinstance(header.get("method"), str) and isinstance(header.get("dataset"), str) and isinstance(header.get("config"), dict)):
        raise CheckpointError(f"{name}: its header needs a method and a dataset (text) and a config (an object).")
    try:  # the config's ranges are checked before the method allocates anything (sslviz.setting.Config)
        method = methods.create(header["method"], header["dataset"], **header["config"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{name} describes a model sslviz cannot build: {_brief(err)}") from None
    _check_architecture(method, state, name)
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:  # a damaged file (one flipped exponent bit is enough) or a diverged run: nothing sensible can be shown from it
        raise CheckpointError(f"{name} holds NaN or infinite weights ({', '.join(broken[:3])}{' …' if len(broken) > 3 else ''}).")
    method.load_state_dict(state)
    return method.eval(), header


def load(path: str | Path, expected_sha256: str | None = None, method_name: str | None = None, dataset: str | None = None) -> tuple[methods.Method, dict[str, Any]]:
    """:func:`from_bytes` on the file at ``path`` (a missing file gets a clear message)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}. Run `python -m sslviz pretrain` to make it.")
    return from_bytes(path.read_bytes(), expected_sha256, method_name, dataset, name=path.name)


def _header(data: bytes) -> Any:
    """The sslviz header in a safetensors file's ``__metadata__`` (the first 8 bytes give the JSON header's length)."""
    size = int.from_bytes(data[:8], "little")
    if not 0 < size <= min(len(data) - 8, MAX_HEADER_BYTES):
        raise ValueError("bad header length")
    outer = json.loads(data[8 : 8 + size])
    metadata = outer.get("__metadata__") if isinstance(outer, dict) else None
    if not isinstance(metadata, dict):
        return {}
    return json.loads(metadata["sslviz"]) if isinstance(metadata.get("sslviz"), str) else {}


def _brief(err: Exception, limit: int = 300) -> str:
    """An exception's message cut to ``limit`` characters (a forged file can make it megabytes long)."""
    text = str(err) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_architecture(method: methods.Method, state: dict[str, torch.Tensor], name: str) -> None:
    expected = method.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    wrong = [f"{k}: {tuple(state[k].shape)} instead of {tuple(v.shape)}" for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        parts = ([f"missing {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}"] if missing else []) + \
                ([f"unexpected {', '.join(unexpected[:3])}{' …' if len(unexpected) > 3 else ''}"] if unexpected else []) + wrong[:3]
        raise CheckpointError(f"{name} belongs to another architecture than its header's {type(method).__name__}: {'; '.join(parts)}.")


def write_history(history: list[dict[str, float]], target: str | Path | io.TextIOBase) -> None:
    """A run's per-step metrics as CSV (one row per step; the columns are every metric that appears), to a path or a text stream."""
    columns = list(dict.fromkeys(k for row in history for k in row))
    with _opened(target, "w") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(history)


def read_history(source: str | Path | io.TextIOBase, max_rows: int = 100_000, max_columns: int = 128, max_cells: int = 1_000_000) -> list[dict[str, float]]:
    """Rows of :func:`write_history` as floats; ValueError (naming the line) for a value that is not a number.

    The limits bound the memory a forged file can take (a 15-minute run logs ~30,000 rows of ~20 columns).
    """
    rows, cells = [], 0
    with _opened(source, "r") as f:
        try:
            reader = csv.DictReader(f)
            if reader.fieldnames is not None and len(reader.fieldnames) > max_columns:
                raise ValueError(f"metrics.csv has {len(reader.fieldnames)} columns; a run logs at most {max_columns}.")
            for i, row in enumerate(reader, start=2):
                if i > max_rows + 1:
                    raise ValueError(f"metrics.csv has more than {max_rows} rows.")
                try:
                    rows.append({k: float(v) for k, v in row.items() if k is not None and v not in ("", None)})
                except (TypeError, ValueError) as err:
                    raise ValueError(f"metrics.csv, line {i}: {_brief(err, 120)}") from None
                cells += len(rows[-1])
                if cells > max_cells:
                    raise ValueError(f"metrics.csv holds more than {max_cells:,} values.")
        except csv.Error as err:  # e.g. a field over csv's 128-KiB limit, a NUL byte
            raise ValueError(f"metrics.csv is not a valid CSV file ({_brief(err, 120)}).") from None
    return rows


@contextlib.contextmanager
def _opened(target: str | Path | io.TextIOBase, mode: str) -> Iterator[io.TextIOBase]:
    if isinstance(target, (str, Path)):
        with open(target, mode, newline="") as f:
            yield f
    else:
        yield target


def read_manifest(path: Path = MANIFEST) -> dict[str, dict[str, Any]]:
    """The manifest's entries by key ("method/dataset"); empty when there is none."""
    return json.loads(path.read_text())["models"] if path.is_file() else {}


def write_entry(key: str, entry: dict[str, Any], path: Path = MANIFEST) -> None:
    """Add or replace one manifest entry (entries sorted by key, so the file diffs cleanly)."""
    entries = {**read_manifest(path), key: entry}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"models": dict(sorted(entries.items()))}, indent=2) + "\n")


def versions() -> dict[str, str]:
    """Library versions that a reproduction needs to match."""
    import numpy
    import sklearn

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__, "scikit-learn": sklearn.__version__}
