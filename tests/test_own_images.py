"""Your own images (issue 19): folders and zips become datasets; hostile zips get specific messages and
write nothing; phone photos (EXIF, MPO, HEIC) are read or refused with the fix; the CLI trains on a folder."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from sslviz import data, experiment
from sslviz.data import files, imagefolder, own
from sslviz.data.uploads import HEIF_READABLE, ImageError, decode_image

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv(files.DATA_DIR_VARIABLE, str(tmp_path / "data"))
    data.base._carved.cache_clear()
    own._arrays.cache_clear()
    own._recent_keys.clear()
    yield tmp_path / "data"
    data.base._carved.cache_clear()


def jpeg(colour, size=(48, 36), exif=None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=95, **({"exif": exif} if exif else {}))
    return out.getvalue()


def class_zip(per_class=8, classes=("red", "green", "blue"), top="holiday", extra=()) -> bytes:
    colours = {"red": (220, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 220)}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for c in classes:
            for i in range(per_class):
                z.writestr(f"{top}/{c}/{c}{i:02d}.jpg", jpeg(tuple(min(255, v + 3 * i) for v in colours[c])))
        for name, body in extra:
            z.writestr(name, body)
    return out.getvalue()


# --- layouts ------------------------------------------------------------------------------


def test_shapes_written_as_class_folders_load_as_the_same_tensors(root, tmp_path):
    own.write_folder({split: data.load("shapes", split, 0) for split in ("train", "test")}, tmp_path / "shapes")
    name = own.prepare_folder(tmp_path / "shapes")
    assert data.info(name).classes == tuple(sorted(data.info("shapes").classes)) and data.info(name).labelled
    for split in ("train", "test"):
        mine, theirs = data.load(name, split), data.load("shapes", split, 0)
        assert mine.images.shape == theirs.images.shape
        # PNG holds 8 bits: the same images, to the last of its 256 levels, in the same order (files are numbered)
        assert torch.equal((mine.images * 255).round(), (theirs.images * 255).round())
        assert [mine.class_names[i] for i in mine.labels] == [theirs.class_names[i] for i in theirs.labels]
    assert own.prepare_folder(tmp_path / "shapes") == name  # the second time from the cache


def test_class_folders_in_a_zip_become_labels_with_a_test_split_and_problems_are_listed(root):
    collection = own.from_zip(class_zip(extra=[("holiday/readme.txt", b"hi"), ("holiday/red/broken.jpg", b"\xff\xd8junk"),
                                               ("holiday/__MACOSX/._red00.jpg", b"x")]), "holiday.zip")
    assert collection.class_names == ("blue", "green", "red") and collection.labelled
    assert collection.images.shape == (24, 3, own.OWN_SIZE, own.OWN_SIZE) and collection.images.dtype == np.uint8
    assert collection.test.sum() == 6  # 20% of each class of 8, rounded: 2 per class
    assert all(collection.test[collection.labels == c].sum() == 2 for c in range(3))
    problems = " | ".join(collection.problems)
    assert "holiday/readme.txt: not an image by its name" in problems and "broken.jpg" in problems and "__MACOSX" not in problems
    red = collection.images[collection.labels == 2].astype(float).mean(axis=(0, 2, 3))
    assert red[0] > 180 and red[1] < 60  # the pixels are the photos'
    name = own.store(collection)
    assert name.startswith(own.PREFIX) and own.store(collection) == name  # named by content
    train, test = data.load(name, "train"), data.load(name, "test")
    assert len(train) == 18 and len(test) == 6 and set(test.labels.tolist()) == {0, 1, 2}
    assert len(data.load(name, "val")) + len(data.load(name, "fit")) == 18
    assert own.title(name) == "Your images: holiday (24, 3 classes)"


def test_train_and_test_folders_keep_the_users_split(root, tmp_path):
    for split, n in (("train", 10), ("test", 6)):
        for c, colour in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
            (tmp_path / "mine" / split / c).mkdir(parents=True)
            for i in range(n):
                (tmp_path / "mine" / split / c / f"{i}.jpg").write_bytes(jpeg(colour))
    collection = own.from_folder(tmp_path / "mine")
    assert collection.test.sum() == 12 and (~collection.test).sum() == 20


def test_a_flat_folder_is_unlabelled_and_pages_that_need_labels_say_so(root, tmp_path):
    (tmp_path / "flat").mkdir()
    for i in range(20):
        (tmp_path / "flat" / f"p{i}.jpg").write_bytes(jpeg((10 * i, 100, 50)))
    name = own.prepare_folder(tmp_path / "flat")
    assert not data.info(name).labelled and data.info(name).classes == (own.UNLABELLED,)
    with pytest.raises(ValueError, match="no classes"):
        experiment.run("simclr", name, seconds=None, steps=1)
    at = AppTest.from_file(APP, default_timeout=600)
    at.session_state["own.uploaded"] = [name]
    at.session_state["global.dataset"] = name
    at.run()
    at.switch_page("app_pages/contrastive.py").run()
    assert not at.exception
    assert any("These images have no classes" in t.value for t in at.title)
    at.switch_page("app_pages/augmentations.py").run()  # needs no classes: it works
    assert not at.exception and not at.error
    assert any("unlabelled" in c.value for c in at.caption)


def test_a_method_trains_and_is_evaluated_against_both_baselines_on_uploaded_photos(root):
    name = own.store(own.from_zip(class_zip(per_class=10), "photos.zip"))
    exp = experiment.run("simclr", name, seconds=None, steps=2, seed=0)
    m = exp.metrics
    for key in ("probe_acc", "knn_acc", "raw_pixel_probe_acc", "random_init_probe_acc"):
        assert 0.0 <= m[key] <= 1.0
    assert exp.method.config.augment == own.OWN_AUGMENT and len(exp.test_set) == 6


def test_a_link_to_an_upload_opens_it_on_this_server_and_a_forged_one_is_refused(root):
    name = own.store(own.from_zip(class_zip(), "photos.zip"))
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["dataset"] = name
    at.run()
    assert not at.exception and at.selectbox(key="global.dataset").value == name
    forged = AppTest.from_file(APP, default_timeout=600)
    forged.query_params["dataset"] = "own-" + "0" * 20
    forged.run()
    assert forged.selectbox(key="global.dataset").value == "shapes"
    assert any("dataset=" in w.value for w in forged.warning)


def test_a_shared_folder_under_the_data_directory_is_offered_and_decoded_once(root, tmp_path):
    folder = root / own.IMAGES_FOLDER / "field trip"
    for c, colour in (("oak", (30, 160, 30)), ("pine", (10, 80, 10))):
        (folder / c).mkdir(parents=True)
        for i in range(9):
            (folder / c / f"{i}.jpg").write_bytes(jpeg(colour))
    assert list(own.shared_folders()) == ["folder-field_trip"]
    assert own.prepared("folder-field_trip") is None
    stored = own.prepare_folder(folder)
    assert own.prepared("folder-field_trip") == stored and data.info("folder-field_trip").labelled
    (folder / "oak" / "new.jpg").write_bytes(jpeg((40, 170, 40)))
    assert own.prepared("folder-field_trip") == stored  # the sidebar re-reads a folder's files every KEY_SECONDS, not every rerun
    own._recent_keys.clear()  # as KEY_SECONDS later
    assert own.prepared("folder-field_trip") is None  # a changed folder is decoded again, not served stale


# --- hostile zips -------------------------------------------------------------------------


def zip_of(members, method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for name, body in members:
            z.writestr(name, body)
    return out.getvalue()


def declare_size(blob: bytes, member: str, size: int) -> bytes:
    """Rewrite the central directory so ``member`` claims ``size`` uncompressed bytes (the header a hostile zip sends)."""
    raw = bytearray(blob)
    at = raw.find(b"PK\x01\x02")
    while at != -1:
        name_len = int.from_bytes(raw[at + 28 : at + 30], "little")
        if raw[at + 46 : at + 46 + name_len].decode() == member:
            raw[at + 24 : at + 28] = size.to_bytes(4, "little")
            return bytes(raw)
        at = raw.find(b"PK\x01\x02", at + 4)
    raise AssertionError(member)


GOOD = [(f"pics/{i}.jpg", jpeg((i * 10, 50, 50))) for i in range(own.MIN_IMAGES)]


@pytest.mark.parametrize(("blob", "expected"), [
    pytest.param(zip_of([]), "is empty: it holds no files", id="empty"),
    pytest.param(b"PK\x03\x04 not really", "is not a zip file we can read", id="not-a-zip"),
    pytest.param(zip_of([(f"{i}.png", b"") for i in range(20_000)], zipfile.ZIP_STORED), "holds 20,000 files; the limit is 10,000", id="20000-files"),
    pytest.param(zip_of([("bomb.png", b"\0" * 5_000_000), *GOOD]), "like a zip bomb (an image compresses far less); not decompressed", id="bomb"),
    pytest.param(zip_of([("inner.zip", zip_of(GOOD)), *GOOD]), "an archive inside the zip", id="nested-by-name"),
    pytest.param(zip_of([("pics/sneaky.jpg", zip_of(GOOD)), *GOOD]), "a zip inside the zip", id="nested-by-content"),
    pytest.param(zip_of([("../../evil.jpg", jpeg((1, 2, 3))), *GOOD]), "leaves the zip's folder", id="dot-dot"),
    pytest.param(zip_of([("/etc/evil.jpg", jpeg((1, 2, 3))), *GOOD]), "leaves the zip's folder", id="absolute"),
    pytest.param(declare_size(zip_of([("huge.jpg", jpeg((9, 9, 9))), *GOOD]), "huge.jpg", 2**31 - 2**20), "huge.jpg: declares 2,047 MB; an image is at most 20 MB", id="declares-2GB"),
    pytest.param(zip_of([("a.txt", b"x"), ("b.pdf", b"%PDF")]), "0 usable image(s)", id="non-images"),
])
def test_hostile_zips_get_specific_messages_and_write_nothing(root, tmp_path, blob, expected, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    try:
        collection = own.from_zip(blob, "class.zip")
        said = " | ".join(collection.problems)
    except own.OwnImagesError as err:
        said = str(err)
    assert expected in said
    assert sorted(p.name for p in tmp_path.iterdir()) == before and not Path("/etc/evil.jpg").exists()
    assert not (tmp_path / "evil.jpg").exists() and not (tmp_path.parent / "evil.jpg").exists()


def test_a_zip_over_the_size_limit_is_refused_unread(monkeypatch):
    monkeypatch.setattr(imagefolder, "MAX_ZIP_BYTES", 1000)
    with pytest.raises(own.OwnImagesError, match="at most 0 MB"):
        own.from_zip(b"PK" + b"\0" * 2000, "big.zip")


def test_a_damaged_cache_entry_says_upload_again(root):
    name = own.store(own.from_zip(class_zip(), "photos.zip"))
    images = root / files.CACHE_FOLDER / "own" / name[len(own.PREFIX):] / "images.npy"
    images.write_bytes(b"not numpy")
    own._arrays.cache_clear()
    with pytest.raises(own.OwnImagesError, match="upload them again"):
        data.load(name, "test")
    meta = images.parent / "meta.json"
    meta.write_text(json.dumps({"title": 3}))
    with pytest.raises(ValueError, match="Unknown dataset"):
        data.info(name)


# --- phone photos -------------------------------------------------------------------------


def test_an_exif_rotated_portrait_photo_is_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90° clockwise to view
    sideways = Image.new("RGB", (60, 40), (0, 0, 255))
    sideways.paste((255, 0, 0), (0, 0, 20, 40))  # red on the stored image's left = the top of the upright photo
    out = io.BytesIO()
    sideways.save(out, "JPEG", exif=exif, quality=95)
    rgb = decode_image(out.getvalue(), "portrait.jpg")
    assert rgb.shape == (60, 40, 3)  # portrait: taller than wide
    assert rgb[:15].mean(axis=(0, 1))[0] > 200 and rgb[-15:].mean(axis=(0, 1))[2] > 200


def test_an_mpo_photo_is_accepted_as_its_first_picture():
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "MPO", save_all=True, append_images=[Image.new("RGB", (64, 48), (0, 0, 200))])
    assert Image.open(io.BytesIO(out.getvalue())).format == "MPO"
    rgb = decode_image(out.getvalue(), "IMG_0001.jpg")
    assert rgb.shape == (48, 64, 3) and rgb[..., 0].mean() > 180


def test_a_heic_photo_is_read_or_gets_the_conversion_message():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    if HEIF_READABLE:
        with pytest.raises(ImageError):  # pillow-heif reads real ones; this one is only a header
            decode_image(heic, "IMG_0002.HEIC")
    else:
        with pytest.raises(ImageError, match="HEIC/HEIF.*Convert it to JPEG.*Most Compatible"):
            decode_image(heic, "IMG_0002.HEIC")


def test_jpegs_decode_at_a_reduced_scale_when_they_will_be_shrunk():
    big = jpeg((10, 200, 10), size=(4000, 3000))
    assert decode_image(big, "big.jpg").shape == (3000, 4000, 3)
    assert decode_image(big, "big.jpg", draft=32).shape == (375, 500, 3)  # libjpeg's 1/8 scale, still >= 2 × 32 px


# --- the CLI --------------------------------------------------------------------------------


def test_the_cli_trains_on_a_folder(root, tmp_path):
    folder = tmp_path / "mine"
    for c, colour in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
        (folder / c).mkdir(parents=True)
        for i in range(10):
            (folder / c / f"{i}.jpg").write_bytes(jpeg(tuple(min(255, v + 5 * i) for v in colour)))
    env = {**os.environ, files.DATA_DIR_VARIABLE: str(root)}
    run = subprocess.run([sys.executable, "-m", "sslviz", "bench", "--data", str(folder), "--steps", "2", "--seconds", "600", "--json"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["dataset"].startswith(own.PREFIX) and summary["steps"] == 2 and 0 <= summary["probe_acc"] <= 1
    assert "decoding your images: 20 of 20" in run.stderr
    bad = subprocess.run([sys.executable, "-m", "sslviz", "bench", "--data", str(tmp_path / "nowhere")], capture_output=True, text=True, env=env, timeout=600)
    assert bad.returncode == 2 and "not a folder" in bad.stderr


def test_pretrain_writes_a_checkpoint_for_a_folder(root, tmp_path, capsys):
    from sslviz import checkpoints
    from sslviz.__main__ import main

    folder = tmp_path / "mine"
    for c, colour in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
        (folder / c).mkdir(parents=True)
        for i in range(10):
            (folder / c / f"{i}.jpg").write_bytes(jpeg(tuple(min(255, v + 5 * i) for v in colour)))
    out = tmp_path / "models"
    assert main(["pretrain", "--method", "simclr", "--data", str(folder), "--augment", "weak", "--steps", "2", "--out", str(out)]) == 0
    name = own.prepare_folder(folder, augment="weak")  # the same images and preset name the same dataset
    entry = json.loads((out / "manifest.json").read_text())["models"][f"simclr/{name}"]
    assert entry["steps"] == 2 and entry["dataset"] == name
    method, _ = checkpoints.load(out / entry["file"], entry["sha256"], "simclr", name)
    assert method.config.in_channels == 3
    assert main(["pretrain", "--method", "simclr", "--augment", "weak"]) == 2  # --augment without --data
    assert "--augment goes with --data" in capsys.readouterr().err


@pytest.mark.parametrize("page", sorted(p.name for p in (Path(APP).parent / "app_pages").glob("*.py") if p.name != "home.py"))
def test_every_page_renders_on_uploaded_photos(root, page):
    name = own.store(own.from_zip(class_zip(per_class=10), "photos.zip"))
    at = AppTest.from_file(APP, default_timeout=600)
    at.session_state["own.uploaded"] = [name]
    at.session_state["global.dataset"] = name
    at.run()
    at.switch_page(f"app_pages/{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="global.dataset").value == name
