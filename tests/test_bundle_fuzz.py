"""Hostile run bundles: hundreds of mutations of a valid bundle, each refused with a specific message or imported.

Every mutation goes through :func:`sslviz.bundles.restore`, the function the pages' "Import a run"
job calls. An exception other than ``BundleError`` is a traceback on the page; none is allowed, and
the process's memory must not grow with the fuzzing (huge declared sizes are refused unread).
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
import struct
import zipfile
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from sslviz import bundles, experiment, jobs, methods
from sslviz.bundles import BundleError
from sslviz.setting import valid_range
from sslviz.train import TrainConfig

Mutation = tuple[str, bytes]


@pytest.fixture(scope="module")
def blob() -> bytes:
    run = experiment.run("simclr", "digits", seconds=None, steps=2, seed=1, method_overrides={"width": 4}, few_labels=(1,))
    return bundles.export(run)


def members(blob: bytes) -> dict[str, bytes]:
    z = zipfile.ZipFile(io.BytesIO(blob))
    return {i.filename: z.read(i.filename) for i in z.infolist()}


def zipped(files: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return out.getvalue()


def with_member(blob: bytes, name: str, content: bytes) -> bytes:
    return zipped({**members(blob), name: content})


def with_record(blob: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    record = json.loads(members(blob)["config.json"])
    change(record)
    return with_member(blob, "config.json", json.dumps(record).encode())


def with_weights_header(blob: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The bundle with the sslviz header inside weights.safetensors rewritten (the tensors kept)."""
    weights = members(blob)["weights.safetensors"]
    size = int.from_bytes(weights[:8], "little")
    header = json.loads(json.loads(weights[8 : 8 + size])["__metadata__"]["sslviz"])
    change(header)
    return with_member(blob, "weights.safetensors", save_safetensors(load_safetensors(weights), metadata={"sslviz": json.dumps(header)}))


def npy_header(shape: tuple, descr: str = "<f4", fortran: bool = False, data: bytes = b"") -> bytes:
    """A .npy file whose header declares ``shape`` whatever follows it."""
    header = repr({"descr": descr, "fortran_order": fortran, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def beyond(default: Any, field: dataclasses.Field) -> list[Any]:
    """Values at and beyond a field's declared range, and of the wrong type."""
    rng = valid_range(field)
    if isinstance(default, bool):
        return [0, "true", None, [True]]
    if rng.choices:
        return [rng.choices[-1], "x" * 100_000, 0, None, ["none"]]
    step = 1 if isinstance(default, int) else 1e-3
    return [rng.low, rng.high, rng.low - step, rng.high + step, 10**30, -(10**30), "16", None, [16], {"a": 1}, 1.5 if isinstance(default, int) else True]


def mutations(blob: bytes) -> Iterator[Mutation]:
    rnd = random.Random(0)
    files = members(blob)
    # The whole zip: truncated at many places, bit flips anywhere.
    for cut in sorted({int(len(blob) * i / 40) for i in range(40)} | {len(blob) - 1, 22, 100}):
        yield f"zip truncated at {cut}", blob[:cut]
    # Bit flips where the importer reads: the required members (local header and data) and the central directory, not the figures.
    infos = zipfile.ZipFile(io.BytesIO(blob)).infolist()
    regions = [(i.header_offset, i.header_offset + 30 + len(i.filename) + i.compress_size) for i in infos if i.filename in bundles.REQUIRED]
    regions.append((blob.rindex(b"PK\x01\x02", 0, len(blob)) - 46 * len(infos), len(blob)))
    for i in range(150):
        start, end = regions[i % len(regions)]
        pos, bit = rnd.randrange(max(0, start), end), rnd.randrange(8)
        yield f"zip bit flip {i}", blob[:pos] + bytes([blob[pos] ^ (1 << bit)]) + blob[pos + 1 :]
    # Each required member: truncated, bit-flipped, emptied, replaced by garbage.
    for name in bundles.REQUIRED:
        content = files[name]
        for frac in (0.0, 0.1, 0.5, 0.9, 0.99):
            yield f"{name} truncated to {frac:.0%}", with_member(blob, name, content[: int(len(content) * frac)])
        for i in range(12):
            pos = rnd.randrange(len(content))
            yield f"{name} bit flip {i}", with_member(blob, name, content[:pos] + bytes([content[pos] ^ (1 << rnd.randrange(8))]) + content[pos + 1 :])
        yield f"{name} random bytes", with_member(blob, name, rnd.randbytes(4096))
        yield f"{name} is a zip", with_member(blob, name, blob[:50_000])
    # config.json: nested, oversized, wrong types, NaN/inf, out-of-range numbers.
    yield "config.json nested 100,000 deep", with_member(blob, "config.json", b"[" * 100_000 + b"]" * 100_000)
    yield "config.json nested object", with_member(blob, "config.json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000)
    yield "config.json a list", with_member(blob, "config.json", b"[1, 2, 3]")
    yield "config.json a 1-MB string", with_member(blob, "config.json", json.dumps({"method": "simclr", "dataset": "digits", "seed": 0, "message": "x" * (2**20 - 100)}).encode())
    yield "config.json over its size limit", with_member(blob, "config.json", b" " * (2**20 + 1))
    yield "config.json not UTF-8", with_member(blob, "config.json", b'{"method": "\xff\xfe"}')
    record = json.loads(files["config.json"])
    odd = [None, [], {}, "x", -1, 1.5, 10**100, "1" * 5000, True, float("nan"), float("inf"), -float("inf"), [1] * 1000]
    for key in record:
        for value in odd:
            yield f"config.json {key}={str(value)[:20]}", with_record(blob, lambda r, k=key, v=value: r.__setitem__(k, v))
    for key in [k for k in record if k.endswith("_acc")][:6]:
        for value in (-0.01, 1.01, 1e9):
            yield f"config.json {key}={value}", with_record(blob, lambda r, k=key, v=value: r.__setitem__(k, v))
    yield "config.json huge integer text", with_member(blob, "config.json", files["config.json"].replace(b'"seed": 1', b'"seed": ' + b"9" * 100_000))
    for field in dataclasses.fields(TrainConfig):
        for value in beyond(field.default, field):
            yield f"train_config.{field.name}={str(value)[:20]}", with_record(blob, lambda r, f=field.name, v=value: r["train_config"].__setitem__(f, v))
    # The weights' own header: every config field of the method at and beyond its range, foreign methods, wrong types.
    for field in dataclasses.fields(methods.spec("simclr").config_cls):
        for value in beyond(field.default, field):
            yield f"weights config.{field.name}={str(value)[:20]}", with_weights_header(blob, lambda h, f=field.name, v=value: h["config"].__setitem__(f, v))
    for name, value in (("method", "byol"), ("method", "nope"), ("method", None), ("dataset", "photos"), ("dataset", 3), ("config", []),
                        ("config", None), ("format", "other"), ("config", {"unknown_field": 1})):
        yield f"weights header {name}={value}", with_weights_header(blob, lambda h, k=name, v=value: h.__setitem__(k, v))
    yield "weights header a list", with_member(blob, "weights.safetensors", save_safetensors(load_safetensors(files["weights.safetensors"]), metadata={"sslviz": "[1]"}))
    yield "weights header nested", with_member(blob, "weights.safetensors", save_safetensors(load_safetensors(files["weights.safetensors"]), metadata={"sslviz": "[" * 100_000 + "]" * 100_000}))
    yield "weights declares a 1-TB header", with_member(blob, "weights.safetensors", (2**40).to_bytes(8, "little") + files["weights.safetensors"][8:])
    # embeddings.npy: huge declared sizes, wrong dtypes and shapes, NaN/inf.
    for shape in ((10**6, 10**6), (2**62, 2), (500, 64, 2), (500,), (0, 64), (-1, 64), (500, 65)):
        yield f"embeddings declared {shape}", with_member(blob, "embeddings.npy", npy_header(shape, data=b"\0" * 1024))
    for descr in ("|O", "<i4", ">f4", "<c8", "|S4", "<f2"):
        yield f"embeddings dtype {descr}", with_member(blob, "embeddings.npy", npy_header((2, 2), descr, data=b"\0" * 64))
    yield "embeddings fortran order", with_member(blob, "embeddings.npy", npy_header((2, 2), fortran=True, data=b"\0" * 16))
    yield "embeddings header not a dict", with_member(blob, "embeddings.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + b"__import__('os')".ljust(117) + b"\n")
    for value in (np.nan, np.inf, -np.inf):
        yield f"embeddings {value}", with_member(blob, "embeddings.npy", npy_header((2, 2), data=np.full(4, value, np.float32).tobytes()))
    # metrics.csv: a 200-KiB field, NUL bytes, thousands of columns, non-numbers, NaN.
    yield "metrics.csv 200-KiB field", with_member(blob, "metrics.csv", b"loss\n" + b"1" * 200_000 + b"\n")
    yield "metrics.csv NUL byte", with_member(blob, "metrics.csv", b"loss\n1\0\n")
    yield "metrics.csv 5,000 columns", with_member(blob, "metrics.csv", ",".join(f"c{i}" for i in range(5000)).encode() + b"\n")
    yield "metrics.csv 1.2M cells", with_member(blob, "metrics.csv", b",".join(b"c%d" % i for i in range(20)) + b"\n" + (b"1," * 19 + b"1\n") * 60_000)
    yield "metrics.csv unterminated quote", with_member(blob, "metrics.csv", b'loss\n"1\n')
    for value in (b"abc", b"nan", b"inf", b"1e999", b"[1]", b"\xff"):
        yield f"metrics.csv value {value!r}", with_member(blob, "metrics.csv", b"loss,step\n" + value + b",1\n")
    # Foreign and odd members: extra files, path tricks, a zip bomb, many members, a member missing.
    yield "foreign members", zipped({**files, "evil.py": b"import os", "../../etc/passwd": b"x", "/abs": b"y"})
    yield "zip bomb member", zipped({**files, "metrics.csv": b"0" * (30 * 2**20)}, zipfile.ZIP_DEFLATED)
    yield "10,000 members", zipped({**files, **{f"figures/{i}.html": b"" for i in range(10_000)}})
    for name in bundles.REQUIRED:
        yield f"without {name}", zipped({k: v for k, v in files.items() if k != name})
    yield "a bundle of another method", bundles.export(experiment.run("byol", "digits", seconds=None, steps=1, seed=0, method_overrides={"width": 4}, with_baselines=False))
    yield "over the zip size limit", b"PK" + b"\0" * (bundles.MAX_ZIP_BYTES + 1)


def test_fuzzed_bundles_are_refused_with_a_message_or_imported_never_a_traceback(blob):
    bundles.restore(blob, "warm-up.zip", "simclr")  # data and caches loaded before memory is measured
    jobs.release_memory()
    rss_before = jobs.rss_mb()
    outcomes: dict[str, str] = {}
    for label, mutated in mutations(blob):
        try:
            exp = bundles.restore(mutated, "upload.zip", "simclr")
            outcomes[label] = f"imported: {exp.method_name} on {exp.dataset}, {exp.result.steps} steps"
        except BundleError as err:  # a ValueError the page shows as it is
            message = str(err)
            assert message.startswith("upload.zip") or "config.json" in message or "holds a" in message, (label, message)
            assert 20 < len(message) <= 600 and "Traceback" not in message, (label, message)
            outcomes[label] = message
        del mutated
    jobs.release_memory()
    growth = jobs.rss_mb() - rss_before
    refused = [m for m in outcomes.values() if not m.startswith("imported")]
    print(f"fuzz: {len(outcomes)} mutations, {len(refused)} refused, {len(outcomes) - len(refused)} imported, RSS growth {growth:+.0f} MB")
    assert len(outcomes) >= 500, len(outcomes)
    assert growth < 200, f"RSS grew {growth:.0f} MB over {len(outcomes)} imports"
    assert len(refused) > 0.75 * len(outcomes), len(refused)  # what imports: unread bytes flipped, in-range settings, foreign members
    # The refusals name what is wrong: a sample of the kinds of damage and the message each got.
    expect = {
        "config.json nested 100,000 deep": "nested too deeply",
        "metrics.csv 200-KiB field": "not a valid CSV",
        "metrics.csv 5,000 columns": "5000 columns",
        "metrics.csv 1.2M cells": "more than 1,000,000 values",
        "embeddings declared (1000000, 1000000)": "declares 1000000×1000000 values but holds 1024 bytes",
        "embeddings dtype |O": "float32",
        "config.json steps=None": "steps must be a whole number",
        "config.json seed=[]": "seed must be a whole number",
        "config.json probe_acc=nan": "probe_acc must be between 0 and 1",
        "config.json probe_acc=1.01": "probe_acc must be between 0 and 1",
        "weights config.width=129": "must be between 1 and 128, got 129",
        "weights config.width=10000000000000000000": "Encoder width (width) must be between 1 and 128",
        "weights config.augment=xxxxxxxxxxxxxxxxxxxx": "Augmentations (augment) must be one of",
        "train_config.batch_size=4097": "(batch_size) must be between 2 and 4096",
        "weights declares a 1-TB header": "not a safetensors file",
        "zip bomb member": "would unpack to 30 MB",
        "a bundle of another method": "holds a byol run",
        "over the zip size limit": "at most 40 MB",
    }
    for label, fragment in expect.items():
        assert fragment in outcomes[label], (label, outcomes[label])


def test_a_bundle_recorded_on_cuda_imports_on_a_cpu_only_machine(blob, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    cuda = with_record(blob, lambda r: r["train_config"].__setitem__("device", "cuda"))
    exp = bundles.restore(cuda, "from-a-gpu.zip", "simclr")
    assert exp.train_config.device == "auto" and json.loads(members(cuda)["config.json"])["train_config"]["device"] == "cuda"
    assert next(exp.method.parameters()).device.type == "cpu"
    assert exp.metrics["probe_acc"] == json.loads(members(blob)["config.json"])["probe_acc"]
