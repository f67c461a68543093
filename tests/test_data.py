
import numpy as np
import pytest
import torch

from sslviz import data


def test_digits_shapes_and_fixed_split():
    train, test = data.load("digits", "train"), data.load("digits", "test")
    assert train.images.shape[1:] == (1, 28, 28) and test.images.shape[1:] == (1, 28, 28)
    assert len(train) + len(test) == 1797
    assert train.images.min() >= 0 and train.images.max() <= 1
    assert set(train.labels.tolist()) == set(range(10))
    # the split does not depend on the seed
    assert torch.equal(data.load("digits", "test", seed=5).images, test.images)


def test_digits_train_and_test_are_disjoint():
    train, test = data.load("digits", "train"), data.load("digits", "test")
    a = {tuple(x.flatten().tolist()) for x in test.images[:200]}
    b = {tuple(x.flatten().tolist()) for x in train.images}
    assert len(a & b) <= 2  # a couple of exact duplicates exist in the raw data at most


def test_shapes_deterministic_and_annotated():
    data.shapes._shapes.cache_clear()
    ds = data.load("shapes", "train", seed=3)
    assert ds.images.shape == (3000, 3, 32, 32)
    data.shapes._shapes.cache_clear()
    again = data.load("shapes", "train", seed=3)
    assert torch.equal(ds.images, again.images)
    other = data.load("shapes", "train", seed=4)
    assert not torch.equal(ds.images, other.images)
    assert set(ds.attributes) >= {"shape", "colour", "size", "x", "y", "rotation"}
    assert len(set(ds.labels.tolist())) >= 4
    for i in range(5):
        caption = ds.captions[i]
        assert ds.attributes["shape"][i] in caption and ds.attributes["colour"][i] in caption and ds.attributes["size"][i] in caption


def test_shapes_classes_differ_in_form_not_just_colour():
    rng = np.random.default_rng(0)
    images, attrs = data.render_shapes(400, rng)
    # every class covers several colours, so colour cannot reveal the class
    for k in range(len(data.SHAPE_NAMES)):
        assert len(set(attrs["colour"][attrs["shape_id"] == k])) >= 4
    # shapes are drawn: pixels brighter than the background exist in every image
    assert (images.amax(dim=(1, 2, 3)) > 0.3).all()


def test_shape_caption_positions():
    attrs = {"x": [0.1, 0.5, 0.9], "y": [0.1, 0.5, 0.9], "size": ["small"] * 3, "colour": ["red"] * 3, "shape": ["circle"] * 3}
    assert data.shape_caption(attrs, 0) == "a small red circle at the top left"
    assert data.shape_caption(attrs, 1) == "a small red circle in the centre"
    assert data.shape_caption(attrs, 2) == "a small red circle at the bottom right"


@pytest.mark.parametrize("args, match", [(("imagenet",), "Unknown dataset 'imagenet'"), (("digits", "validation"), "Unknown split"), (("shapes", "train", -1), "seed")])
def test_load_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        data.load(*args)


def test_photos_are_offline_deterministic_labelled_crops():
    train, test = data.load("photos", "train", 0), data.load("photos", "test", 0)
    assert train.images.shape == (2000, 3, 32, 32) and test.images.shape == (500, 3, 32, 32)
    assert train.class_names == ("temple", "flower") and set(train.labels.tolist()) == {0, 1}
    assert 0 <= float(train.images.min()) and float(train.images.max()) <= 1
    assert torch.equal(data.load("photos", "train", 0).images, train.images)  # cached and deterministic
    other = data.photos._photos.__wrapped__("train", 1)
    assert not torch.equal(other.images, train.images)  # the seed changes the crops
    # crops of one photo really come from that photo: the flower is mostly orange/green, the temple has sky and red walls
    red_flower, red_temple = (float(train.images[train.labels == c].mean(dim=(0, 2, 3))[0]) for c in (1, 0))
    assert abs(red_flower - red_temple) > 0.01


def test_clutter_is_deterministic_hard_and_annotated():
    ds = data.load("clutter", "test", seed=2)
    assert ds.images.shape == (1500, 3, 32, 32) and ds.class_names == data.clutter.CLUTTER_NAMES
    data.clutter._clutter.cache_clear()
    assert torch.equal(ds.images, data.load("clutter", "test", seed=2).images)
    assert not torch.equal(ds.images, data.load("clutter", "test", seed=3).images)
    counts = torch.bincount(ds.labels, minlength=6)
    assert (counts > 200).all()  # six balanced classes
    assert ds.images.std(dim=(2, 3)).mean() > 0.15  # textured, not a flat background
    assert all(ds.attributes["shape"][i] in ds.captions[i] for i in range(5))


@pytest.mark.parametrize("name", [n for n in data.names() if data.info(n).files is None])  # the downloads: tests/test_standard_datasets.py
def test_every_dataset_has_a_fixed_validation_split_carved_from_train(name):
    # Settings are chosen on "val" (trained on "fit"); "test" reports accuracy and never chooses anything.
    train, fit, val = (data.load(name, split, 0) for split in ("train", "fit", "val"))
    assert len(fit) + len(val) == len(train) and len(val) == round(data.VALIDATION_SHARE * len(train))
    index = data.validation_index(len(train), name)
    assert torch.equal(val.images, train.images[index]) and torch.equal(val.labels, train.labels[index])
    rest = torch.ones(len(train), dtype=torch.bool)
    rest[index] = False
    assert torch.equal(fit.images, train.images[rest])  # disjoint, and together the whole training split
    assert torch.equal(data.validation_index(len(train), name), index)  # the same items every time
    assert val.split == "val" and fit.split == "fit" and all(len(v) == len(val) for v in val.attributes.values())


def test_loaded_datasets_share_one_memory_budget_and_the_last_one_used_is_kept(monkeypatch):
    from sslviz.data import cache

    split_mb = cache.nbytes(data.load("shapes", "test", seed=0)) / 2**20
    monkeypatch.setattr(cache, "BUDGET_MB", 2.5 * split_mb)  # room for two shapes test splits, not three
    monkeypatch.setattr(cache, "_store", type(cache._store)())
    first = data.load("shapes", "test", seed=0)
    assert data.load("shapes", "test", seed=0) is first  # kept: the same object, not generated again
    for seed in (1, 2, 3):
        data.load("shapes", "test", seed=seed)
        assert cache.held_mb() <= cache.BUDGET_MB
    assert len(cache._store) == 2 and data.load("shapes", "test", seed=3) is data.load("shapes", "test", seed=3)
    again = data.load("shapes", "test", seed=0)  # evicted, so generated again: the same images
    assert again is not first and torch.equal(again.images, first.images)
    monkeypatch.setattr(cache, "BUDGET_MB", 0.5 * split_mb)  # a budget smaller than one split still keeps the last one used
    data.load("clutter", "test", seed=0)
    assert [key[0] for key in cache._store] == ["sslviz.data.clutter._clutter"]
