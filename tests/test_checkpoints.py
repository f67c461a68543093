"""Checkpoints: round trips, and every kind of bad file refused with a message that names the problem."""

import dataclasses
import io
import json

import pytest
import torch

from sslviz import checkpoints, methods
from sslviz.__main__ import main as cli
from sslviz.checkpoints import CheckpointError


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    m = methods.create("simclr", "digits", width=4)
    path = tmp_path_factory.mktemp("ckpt") / "simclr-digits.safetensors"
    digest = checkpoints.save(m, "simclr", "digits", path)
    return m, path, digest


def test_round_trip_restores_every_weight_and_the_config(saved):
    m, path, digest = saved
    loaded, header = checkpoints.load(path, digest, "simclr", "digits")
    assert header["method"] == "simclr" and loaded.config == m.config and not loaded.training
    for (k, a), (_, b) in zip(m.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k
    x = torch.rand(3, 1, 28, 28)
    assert torch.allclose(m.eval().embed(x), loaded.embed(x))


def test_the_same_weights_give_the_same_file():
    torch.manual_seed(1)
    a = checkpoints.to_bytes(methods.create("mae", "shapes", width=32, depth=1), "mae", "shapes")
    torch.manual_seed(1)
    b = checkpoints.to_bytes(methods.create("mae", "shapes", width=32, depth=1), "mae", "shapes")
    assert checkpoints.sha256(a) == checkpoints.sha256(b)


def test_tampered_file_is_refused_by_its_hash(saved):
    _, path, digest = saved
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # one weight changed
    with pytest.raises(CheckpointError, match="does not match its manifest: sha256"):
        checkpoints.from_bytes(bytes(data), digest)


def test_truncated_file_is_refused(saved):
    _, path, _ = saved
    with pytest.raises(CheckpointError, match="truncated or not a safetensors file"):
        checkpoints.from_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated or not a safetensors file"):
        checkpoints.from_bytes(b"")


def test_pickle_payloads_are_refused_without_unpickling(saved):
    m, _, _ = saved
    buffer = io.BytesIO()
    torch.save(m.state_dict(), buffer)  # a zip-wrapped pickle
    with pytest.raises(CheckpointError, match="pickle payload"):
        checkpoints.from_bytes(buffer.getvalue())
    import pickle

    with pytest.raises(CheckpointError, match="pickle payload"):
        checkpoints.from_bytes(pickle.dumps({"weights": [1, 2, 3]}))


def test_weights_of_another_architecture_are_refused(saved, tmp_path):
    m, path, _ = saved
    with pytest.raises(CheckpointError, match="holds a 'simclr' method, not 'byol'"):
        checkpoints.load(path, method_name="byol")
    # a header that claims one architecture over the weights of another
    from safetensors.torch import save as save_safetensors

    other = methods.create("simclr", "digits", width=8).state_dict()
    header = {"format": checkpoints.FORMAT, "method": "simclr", "dataset": "digits", "config": dataclasses.asdict(m.config)}
    forged = save_safetensors({k: v.contiguous() for k, v in other.items()}, metadata={"sslviz": json.dumps(header)})
    with pytest.raises(CheckpointError, match=r"another architecture.*\(8, 1, 3, 3\) instead of \(4, 1, 3, 3\)"):
        checkpoints.from_bytes(forged)
    plain = save_safetensors({"w": torch.zeros(2)})
    with pytest.raises(CheckpointError, match="not an sslviz checkpoint"):
        checkpoints.from_bytes(plain)


def test_missing_file_says_how_to_make_it(tmp_path):
    with pytest.raises(CheckpointError, match="python -m sslviz pretrain"):
        checkpoints.load(tmp_path / "nope.safetensors")


def test_pretrain_twice_with_the_same_seed_gives_the_same_weights_hash(tmp_path, capsys):
    for run in ("a", "b"):
        assert cli(["pretrain", "--method", "simclr", "--dataset", "digits", "--steps", "4", "--out", str(tmp_path / run)]) == 0
    entries = [checkpoints.read_manifest(tmp_path / run / "manifest.json")["simclr/digits"] for run in ("a", "b")]
    assert entries[0]["sha256"] == entries[1]["sha256"] and entries[0]["probe_acc"] == entries[1]["probe_acc"]
    assert {"file", "method", "dataset", "config", "seed", "steps", "seconds", "probe_acc", "knn_acc", "versions", "sha256"} <= set(entries[0])
    loaded, _ = checkpoints.load(tmp_path / "a" / entries[0]["file"], entries[0]["sha256"], "simclr", "digits")
    assert loaded.config.width == 16
    assert cli(["pretrain", "--steps", "1"]) == 2 and "either --method M or --all" in capsys.readouterr().err


SHIPPED = checkpoints.read_manifest()


def shipped_entry(method: str, dataset: str = "shapes") -> dict:
    """The manifest entry of ``method``'s shipped checkpoint; skips the calling test, saying why, when there is none (a newly registered method)."""
    entry = SHIPPED.get(f"{method}/{dataset}")
    if entry is None:
        pytest.skip(f"no shipped checkpoint for {method} on {dataset}: make one with python -m sslviz pretrain --method {method}")
    return entry


@pytest.mark.parametrize("name", sorted(methods.REGISTRY))
def test_every_method_in_the_registry_ships_a_checkpoint(name):
    assert shipped_entry(name)["method"] == name


def test_shipped_checkpoints_stay_under_the_size_limit():
    total = sum(p.stat().st_size for p in checkpoints.MODELS.iterdir())
    assert total < 20 * 2**20, f"models/ holds {total / 2**20:.1f} MB"


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_shipped_checkpoint_loads_and_reproduces_its_manifest_accuracy(key):
    from sslviz import data, evaluate

    entry = SHIPPED[key]
    method, header = checkpoints.load(checkpoints.MODELS / entry["file"], entry["sha256"], entry["method"], entry["dataset"])
    train, test = data.load(entry["dataset"], "train", entry["seed"]), data.load(entry["dataset"], "test", entry["seed"])
    scores = evaluate.evaluate_encoder(method.encoder, train, test)
    assert scores["probe_acc"] == pytest.approx(entry["probe_acc"], abs=0.005)
    assert scores["knn_acc"] == pytest.approx(entry["knn_acc"], abs=0.005)
