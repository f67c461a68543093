"""Run bundles: export then import round-trips; damaged or foreign zips are refused with a specific message."""

import io
import json
import zipfile

import numpy as np
import pytest
import torch

from sslviz import bundles, experiment
from sslviz.__main__ import main as cli
from sslviz.bundles import BundleError


@pytest.fixture(scope="module")
def run():
    return experiment.run("simclr", "digits", seconds=None, steps=3, seed=2, method_overrides={"width": 4}, few_labels=(1,))


@pytest.fixture(scope="module")
def blob(run):
    return bundles.export(run)


def rezip(blob: bytes, replace: dict[str, bytes | None]) -> bytes:
    """The bundle with members replaced (None: removed)."""
    src, out = zipfile.ZipFile(io.BytesIO(blob)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            if info.filename in replace:
                if replace[info.filename] is not None:
                    z.writestr(info.filename, replace[info.filename])
            else:
                z.writestr(info.filename, src.read(info.filename))
    return out.getvalue()


def test_export_then_import_round_trips(run, blob):
    names = set(zipfile.ZipFile(io.BytesIO(blob)).namelist())
    assert {"config.json", "metrics.csv", "weights.safetensors", "embeddings.npy", "figures/loss.html", "figures/accuracy.html"} <= names
    html = zipfile.ZipFile(io.BytesIO(blob)).read("figures/loss.html").decode()
    assert "<html" in html and "plotly" in html.lower() and len(html) > 1_000_000  # standalone: plotly.js inside
    bundle = bundles.load(blob)
    assert bundle.record == json.loads(json.dumps(run.summary(), default=float))
    assert [r["loss"] for r in bundle.history] == pytest.approx([r["loss"] for r in run.result.history])
    for (k, a), (_, b) in zip(run.method.state_dict().items(), bundle.method.state_dict().items()):
        assert torch.equal(a.cpu(), b), k
    assert bundle.embeddings.shape == (len(run.test_set), run.method.encoder.out_dim)
    restored = bundles.to_experiment(bundle)
    assert restored.metrics["probe_acc"] == run.summary()["probe_acc"] and restored.seed == 2 and restored.result.steps == 3
    assert np.allclose(bundle.embeddings, restored.method.embed(restored.test_set.images).numpy(), atol=1e-5)


@pytest.mark.parametrize("case, blob_of, message", [
    ("not a zip", lambda b: b"hello", "not a zip file"),
    ("truncated", lambda b: b[: len(b) // 2], "not a zip file|damaged"),
    ("missing member", lambda b: rezip(b, {"metrics.csv": None}), "lacks metrics.csv"),
    ("text in the numbers", lambda b: rezip(b, {"metrics.csv": b"loss,step\nabc,1\n"}), "metrics.csv, line 2"),
    ("bad json", lambda b: rezip(b, {"config.json": b"{not json"}), "unreadable"),
    ("pickled array", lambda b: rezip(b, {"embeddings.npy": _npy(np.array([{"x": 1}], dtype=object))}), "unreadable"),
    ("NaN embeddings", lambda b: rezip(b, {"embeddings.npy": _npy(np.full((3, 2), np.nan, np.float32))}), "NaN or infinite"),
    ("pickled weights", lambda b: rezip(b, {"weights.safetensors": _pickled()}), "pickle payload"),
    ("weights of another method", lambda b: rezip(b, {"config.json": json.dumps({"method": "byol", "dataset": "digits", "seed": 0}).encode()}),
     "holds a 'simclr' method, not 'byol'"),
])
def test_bad_bundles_are_refused_with_a_specific_message(blob, case, blob_of, message):
    with pytest.raises(BundleError, match=message):
        bundles.load(blob_of(blob), "upload.zip")


def test_a_zip_bomb_is_refused_before_decompressing(blob):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("config.json", "weights.safetensors", "embeddings.npy"):
            z.writestr(name, zipfile.ZipFile(io.BytesIO(blob)).read(name))
        z.writestr("metrics.csv", b"0" * (30 * 2**20))  # compresses to ~30 KB
    assert len(bomb.getvalue()) < 2**20
    with pytest.raises(BundleError, match="metrics.csv would unpack to 30 MB"):
        bundles.load(bomb.getvalue())


def test_cli_export_writes_a_bundle_that_imports(tmp_path, capsys):
    out = tmp_path / "run.zip"
    assert cli(["export", "--method", "simclr", "--dataset", "digits", "--steps", "2", "--seed", "1", "--out", str(out)]) == 0
    bundle = bundles.load(out.read_bytes())
    assert bundle.record["steps"] == 2 and bundle.record["seed"] == 1 and json.loads(capsys.readouterr().out)["out"] == str(out)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _pickled() -> bytes:
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buffer)
    return buffer.getvalue()
