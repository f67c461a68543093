"""The standard datasets (issue 19): small file sets written in each dataset's official on-disk format,
in the layout torchvision downloads into, load with the right images, labels and splits; without files
the message names the dataset, the folder and the command; nothing downloads; damaged files are named."""

import gzip
import io
import pickle
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from streamlit.testing.v1 import AppTest

from sslviz import data, downloads
from sslviz.data import files
from sslviz.jobs import MAX_JOB_SECONDS


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv(files.DATA_DIR_VARIABLE, str(tmp_path))
    data.base._carved.cache_clear()  # fit/val carved from another folder's train split
    yield tmp_path
    data.base._carved.cache_clear()


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a dataset load tried to open a network connection")
    monkeypatch.setattr(socket.socket, "connect", refuse)


def rng_images(n: int, c: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, c, size, size), dtype=np.uint8)


def idx_bytes(array: np.ndarray) -> bytes:
    """MNIST's IDX format: 0, 0, type 0x08 (unsigned byte), rank; big-endian sizes; the bytes."""
    return bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes() + array.tobytes()


def write_mnist(folder, n_train=30, n_test=12, gz=False):
    folder.mkdir(parents=True)
    out = {}
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        images = rng_images(n, 1, 28, seed)[:, 0]
        labels = (np.arange(n) % 10).astype(np.uint8)
        for name, array in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(array)))
            else:
                (folder / name).write_bytes(idx_bytes(array))
        out[prefix] = (images, labels)
    return out


def write_cifar(folder, per_batch=8):
    """CIFAR-10's python version: pickled dicts of data (N×3072 bytes, channel planes) and labels."""
    folder.mkdir(parents=True)
    out = {}
    for i, name in enumerate([*data.cifar10.TRAIN_BATCHES, "test_batch"]):
        flat = rng_images(per_batch, 3, 32, 10 + i).reshape(per_batch, -1)
        labels = [(i + j) % 10 for j in range(per_batch)]
        batch = {"batch_label": f"batch {i}", "labels": labels, "data": flat, "filenames": [f"img_{j}.png" for j in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        out[name] = (flat.reshape(-1, 3, 32, 32), np.array(labels))
    return out


def write_svhn(folder, n=9):
    folder.mkdir(parents=True)
    out = {}
    for split, seed in (("train", 3), ("test", 4)):
        images = rng_images(n, 3, 32, seed)
        digits = np.arange(n) % 10
        y = np.where(digits == 0, 10, digits).reshape(-1, 1).astype(np.uint8)  # SVHN writes the digit 0 as 10
        scipy.io.savemat(folder / f"{split}_32x32.mat", {"X": images.transpose(2, 3, 1, 0), "y": y})
        out[split] = (images, digits)
    return out


def write_stl10(folder, n=6, n_unlabelled=1030):  # 1030: more than one of the reader's 1,024-image chunks
    """STL-10's binary files: N×3×96×96 bytes with each channel stored column-major; labels 1..10 as bytes."""
    folder.mkdir(parents=True)
    out = {}
    for split, seed in (("train", 5), ("test", 6)):
        images = rng_images(n, 3, 96, seed)
        labels = np.arange(n) % 10
        (folder / f"{split}_X.bin").write_bytes(images.transpose(0, 1, 3, 2).tobytes())
        (folder / f"{split}_y.bin").write_bytes((labels + 1).astype(np.uint8).tobytes())
        out[split] = (images, labels)
    unlabelled = rng_images(n_unlabelled, 3, 96, 7)
    (folder / "unlabeled_X.bin").write_bytes(unlabelled.transpose(0, 1, 3, 2).tobytes())
    out["unlabelled"] = unlabelled
    return out


def as_float(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float() / 255


@pytest.mark.parametrize("name, folder, gz", [("mnist", "MNIST/raw", False), ("mnist", "MNIST/raw", True), ("fashion_mnist", "FashionMNIST/raw", False)])
def test_mnist_format(root, offline, name, folder, gz):
    written = write_mnist(root / folder, gz=gz)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        ds = data.load(name, split)
        images, labels = written[prefix]
        assert ds.images.shape == (len(labels), 1, 28, 28) and ds.images.dtype == torch.float32
        assert torch.equal(ds.images[:, 0], as_float(images)) and ds.labels.tolist() == labels.tolist()
        assert ds.class_names == data.info(name).classes and list(ds.attributes["class"][:2]) == [ds.class_names[0], ds.class_names[1]]
    val = data.load(name, "val")
    assert len(val) == round(data.VALIDATION_SHARE * 30) and len(data.load(name, "fit")) == 30 - len(val)


def test_cifar10_format(root, offline):
    written = write_cifar(root / "cifar-10-batches-py")
    train, test = data.load("cifar10", "train"), data.load("cifar10", "test")
    expected = np.concatenate([written[b][0] for b in data.cifar10.TRAIN_BATCHES])
    assert train.images.shape == (40, 3, 32, 32) and torch.equal(train.images, as_float(expected))
    assert train.labels.tolist() == [lab for b in data.cifar10.TRAIN_BATCHES for lab in written[b][1]]
    assert torch.equal(test.images, as_float(written["test_batch"][0])) and test.class_names[0] == "airplane"


def test_svhn_format(root, offline):
    written = write_svhn(root / "SVHN")
    for split in ("train", "test"):
        ds = data.load("svhn", split)
        assert torch.equal(ds.images, as_float(written[split][0]))
        assert ds.labels.tolist() == written[split][1].tolist() and ds.labels[0] == 0  # 10 read back as the digit 0


def test_stl10_format_is_downscaled_to_the_models_size(root, offline):
    written = write_stl10(root / "stl10_binary")
    ds = data.load("stl10", "train")
    images, labels = written["train"]
    assert ds.images.shape == (6, 3, 32, 32) and ds.labels.tolist() == labels.tolist()  # stored 1..10, read 0..9
    pooled = torch.nn.functional.avg_pool2d(torch.from_numpy(images).float(), 3)  # 96 → 32 by area averaging
    assert torch.allclose(ds.images * 255, pooled, atol=0.51)  # rounded to whole bytes in the cache


def test_stl10_pretrains_on_its_unlabelled_split_and_evaluates_on_the_labelled_ones(root, offline, monkeypatch):
    from sslviz import experiment

    written = write_stl10(root / "stl10_binary")
    unlabelled = data.load("stl10", "unlabelled")
    assert unlabelled.images.shape == (1030, 3, 32, 32) and (unlabelled.labels == -1).all()
    pooled = torch.nn.functional.avg_pool2d(torch.from_numpy(written["unlabelled"][-3:]).float(), 3)  # the last, partial chunk too
    assert torch.allclose(unlabelled.images[-3:] * 255, pooled, atol=0.51)
    with pytest.raises(ValueError, match="cifar10 has no unlabelled split"):
        data.load("cifar10", "unlabelled")
    trained_on = []
    real_trainer = experiment.Trainer
    monkeypatch.setattr(experiment, "Trainer", lambda method, inputs, *rest: trained_on.append(len(inputs)) or real_trainer(method, inputs, *rest))
    exp = experiment.run("simclr", "stl10", seconds=None, steps=1, with_baselines=False, train_overrides={"batch_size": 8})
    assert trained_on == [1030]  # the SSL method saw the unlabelled images
    assert exp.summary()["pretrained_on"] == "unlabelled" and len(exp.train_set) == 6 and len(exp.test_set) == 6  # the probe: labelled ones


def test_a_second_load_comes_from_the_cache_and_a_changed_file_is_read_again(root, offline, monkeypatch):
    written = write_mnist(root / "MNIST/raw")
    first = data.load("mnist", "train")
    cache = sorted(p.name for p in (root / files.CACHE_FOLDER).iterdir())
    assert len(cache) == 2 and all(p.endswith(".npy") for p in cache)
    np.load(root / files.CACHE_FOLDER / cache[0], allow_pickle=False)  # plain arrays, no pickles
    monkeypatch.setattr(files, "read_idx", lambda f: pytest.fail("decoded again although the files did not change"))
    data.mnist._mnist.cache_clear()
    assert torch.equal(data.load("mnist", "train").images, first.images)
    monkeypatch.undo()
    monkeypatch.setenv(files.DATA_DIR_VARIABLE, str(root))
    images, labels = written["train"]
    (root / "MNIST/raw/train-images-idx3-ubyte").write_bytes(idx_bytes(255 - images))  # same size, new content
    data.mnist._mnist.cache_clear()
    assert torch.equal(data.load("mnist", "train").images[:, 0], as_float(255 - images))


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "svhn", "stl10"])
def test_without_files_the_message_names_the_dataset_the_folder_and_the_command(root, offline, name):
    entry = data.info(name)
    assert data.missing(name).startswith(f"{entry.files.title} is not downloaded")
    with pytest.raises(files.MissingFiles) as err:
        data.load(name, "train")
    message = str(err.value)
    assert str(root / entry.files.folder) in message and f"python -m sslviz download {name}" in message and entry.files.homepage in message
    assert not (root / files.CACHE_FOLDER).exists()  # nothing was written (or fetched)


def test_damaged_and_hostile_files_get_a_message_naming_the_file(root, offline):
    write_mnist(root / "MNIST/raw")
    (root / "MNIST/raw/train-images-idx3-ubyte").write_bytes(idx_bytes(rng_images(30, 1, 28, 0)[:, 0])[:500])  # truncated
    with pytest.raises(ValueError, match=r"MNIST: train-images-idx3-ubyte, train-labels-idx1-ubyte in .* could not be read \(the IDX file declares 23,520 values but holds 484\)"):
        data.load("mnist", "train")
    write_cifar(root / "cifar-10-batches-py")

    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))
    (root / "cifar-10-batches-py/test_batch").write_bytes(pickle.dumps({"data": Exploit(), "labels": []}, protocol=2))
    with pytest.raises(ValueError, match=r"CIFAR-10: test_batch .*the file asks to load (__builtin__|builtins)\.print, which a CIFAR batch never contains"):
        data.load("cifar10", "test")


def test_the_data_directory_comes_from_the_environment_and_a_file_there_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(files.DATA_DIR_VARIABLE, raising=False)
    assert files.data_dir().parts[-3:] == (".cache", "sslviz", "data")
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv(files.DATA_DIR_VARIABLE, str(tmp_path / "afile"))
    with pytest.raises(ValueError, match="is a file, not a folder"):
        files.data_dir()


def test_idx_reader_refuses_other_files():
    with pytest.raises(ValueError, match="bad magic number"):
        files.read_idx(io.BytesIO(b"\x89PNG\r\n\x1a\n"))


FAKE_DOWNLOAD = """
import sys, time
from pathlib import Path
sys.path[:0] = [{tests!r}, {repo!r}]
from test_standard_datasets import write_mnist
from sslviz.data import files
partial = files.data_dir() / "mnist-part.gz"
for i in range({chunks}):  # arrives in 1-MB pieces, like a slow connection
    with open(partial, "ab") as f:
        f.write(bytes(1_000_000))
    time.sleep(0.2)
partial.unlink()
write_mnist(files.data_dir() / "MNIST/raw")
print("done")
"""


def fake_download(monkeypatch, tmp_path, chunks):
    script = tmp_path / "fake_download.py"
    script.write_text(FAKE_DOWNLOAD.format(tests=str(Path(__file__).parent), repo=str(Path(__file__).parents[1]), chunks=chunks))
    monkeypatch.setattr(downloads, "COMMAND", (sys.executable, str(script)))
    monkeypatch.setattr(downloads, "DOWNLOADS", {})


def wait(predicate, what):
    end = time.time() + MAX_JOB_SECONDS  # a hang guard, not a speed limit
    while not predicate():
        assert time.time() < end, f"{what} never happened"
        time.sleep(0.1)


def test_a_download_reports_progress_then_the_dataset_loads(root, tmp_path, monkeypatch):
    fake_download(monkeypatch, tmp_path, chunks=6)
    assert downloads.progress("mnist").state == "idle"
    job = downloads.start("mnist")
    assert downloads.start("mnist") is job  # a second click joins the running download
    wait(lambda: downloads.progress("mnist").mb >= 1 or downloads.progress("mnist").state != "running", "progress")
    now = downloads.progress("mnist")
    assert now.state == "running" and 0 < now.fraction < 1 and now.total_mb == data.info("mnist").files.download_mb
    wait(lambda: downloads.progress("mnist").state != "running", "the end of the download")
    assert downloads.progress("mnist").state == "done" and data.missing("mnist") == ""
    assert len(data.load("mnist", "test")) == 12


def test_a_download_can_be_cancelled(root, tmp_path, monkeypatch):
    fake_download(monkeypatch, tmp_path, chunks=1000)
    downloads.start("mnist")
    wait(lambda: downloads.progress("mnist").mb >= 1 or downloads.progress("mnist").state != "running", "progress")
    assert downloads.progress("mnist").state == "running", downloads.progress("mnist").message
    downloads.cancel("mnist")
    assert downloads.progress("mnist").state == "cancelled" and data.missing("mnist")


def test_a_failed_download_says_why_and_where_the_files_go(root, monkeypatch):
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens there: refused at once
    with pytest.raises(ValueError, match=r"downloading MNIST into .* failed \(.*\)\. Check the internet connection, or put the official files from https://yann.lecun.com"):
        downloads.fetch("mnist")
    with pytest.raises(ValueError, match="ships with sslviz or is generated; there is nothing to download"):
        downloads.start("digits")


def test_a_page_on_a_missing_dataset_says_how_to_get_it_and_offers_the_download(root):
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=600)
    at.session_state["global.dataset"] = "cifar10"
    at.run()
    at.switch_page("app_pages/contrastive.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("python -m sslviz download cifar10" in w.value and str(root) in w.value for w in at.warning)
    assert at.button(key="download.cifar10.start").label == "Download CIFAR-10 (163 MB)"
    assert not (root / "cifar-10-batches-py").exists()  # rendering never downloads


def test_a_method_trains_and_is_evaluated_on_a_standard_dataset(root, offline):
    from sslviz import experiment, methods

    write_cifar(root / "cifar-10-batches-py", per_batch=12)
    assert methods.default_config("simclr", "cifar10").augment == "crop, flip, colour"  # the preset from its registration
    exp = experiment.run("simclr", "cifar10", seconds=None, steps=2, with_baselines=True, train_overrides={"batch_size": 16})
    summary = exp.summary()
    assert summary["steps"] == 2 and 0 <= summary["probe_acc"] <= 1 and 0 <= summary["raw_pixel_probe_acc"] <= 1


def test_the_budget_starts_at_the_datasets_default_and_a_chosen_budget_is_kept(root):
    from sslviz.data.files import DOWNLOADED_SECONDS

    assert data.info("cifar10").seconds == DOWNLOADED_SECONDS != data.info("shapes").seconds == 30
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=600).run()
    budget = lambda: at.slider(key="global.seconds").value  # noqa: E731
    assert budget() == 30
    at.selectbox(key="global.dataset").set_value("cifar10").run()
    assert budget() == DOWNLOADED_SECONDS  # the dataset's default follows it
    at.selectbox(key="global.dataset").set_value("digits").run()
    assert budget() == data.info("digits").seconds
    at.slider(key="global.seconds").set_value(45).run()
    at.selectbox(key="global.dataset").set_value("cifar10").run()
    assert budget() == 45 and not at.exception  # a budget the user chose stays


def test_a_registration_with_an_impossible_budget_is_refused():
    with pytest.raises(ValueError, match="between 5 and 600"):
        data.DatasetInfo("x", channels=1, size=8, classes=("a",), augment="none", summary="", load=lambda split, seed: None, seconds=0)
