import numpy as np
import pytest
import torch

from sslviz import data, evaluate
from sslviz.augment import NO_AUGMENTATION
from sslviz.nets import SmallCNN


def blobs(n=200, d=5, classes=3, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, d))
    y = rng.integers(0, classes, n)
    return centres[y] + rng.normal(0, spread, (n, d)), y


def knn_reference(xtr, ytr, xte, k):
    """Brute force: cosine similarity to every train point, majority vote of the top k."""
    preds = []
    for x in xte:
        sims = [float(np.dot(x, t) / (np.linalg.norm(x) * np.linalg.norm(t))) for t in xtr]
        top = np.argsort(sims)[::-1][:k]
        preds.append(np.bincount(ytr[top], minlength=ytr.max() + 1).argmax())
    return np.array(preds)


def test_linear_probe_separates_blobs_and_fails_on_noise():
    x, y = blobs()
    assert evaluate.linear_probe(x[:150], y[:150], x[150:], y[150:]) > 0.95
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(400, 5))
    labels = rng.integers(0, 4, 400)
    assert evaluate.linear_probe(noise[:300], labels[:300], noise[300:], labels[300:]) < 0.45


def test_linear_probe_standardises_features():
    # a feature scaled by 1e4 must not dominate: standardisation makes the probe scale-free
    x, y = blobs()
    scaled = x * np.array([1e4, 1, 1, 1, 1e-4])
    assert evaluate.linear_probe(scaled[:150], y[:150], scaled[150:], y[150:]) == pytest.approx(
        evaluate.linear_probe(x[:150], y[:150], x[150:], y[150:]), abs=0.02)


@pytest.mark.parametrize("k", [1, 5, 20])
def test_knn_matches_brute_force(k):
    x, y = blobs(120, spread=2.0, seed=3)
    xtr, ytr, xte, yte = x[:80], y[:80], x[80:], y[80:]
    expected = float(np.mean(knn_reference(xtr, ytr, xte, k) == yte))
    assert evaluate.knn_accuracy(xtr, ytr, xte, yte, k=k) == pytest.approx(expected)


def test_nearest_neighbours_are_the_most_cosine_similar_nearest_first():
    g = torch.Generator().manual_seed(3)
    pool, query = torch.randn(50, 6, generator=g), torch.randn(7, 6, generator=g)
    found = evaluate.nearest_neighbours(pool * torch.rand(50, 1, generator=g) * 5, query, k=4)  # lengths do not matter: cosine
    sims = torch.nn.functional.normalize(query, dim=1) @ torch.nn.functional.normalize(pool, dim=1).T
    for row, index in zip(sims, found):
        assert index.tolist() == row.argsort(descending=True)[:4].tolist()
    with pytest.raises(ValueError, match="k must be between 1 and the pool's 50 items"):
        evaluate.nearest_neighbours(pool, query, k=51)


def test_knn_is_cosine():
    xtr, ytr = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])
    assert evaluate.knn_accuracy(xtr, ytr, np.array([[100.0, 1.0]]), np.array([0]), k=1) == 1.0


def test_few_label_probe_uses_k_per_class():
    x, y = blobs(300)
    out = evaluate.few_label_probe(x[:200], y[:200], x[200:], y[200:], per_class=(1, 5), draws=3)
    assert set(out) == {1, 5} and out[5] >= out[1] - 0.05 and out[5] > 0.8


def test_features_frozen_and_eval_mode():
    enc = SmallCNN(1, 4)
    enc.train()
    x = torch.rand(10, 1, 28, 28)
    f = evaluate.extract_features(enc, x)
    assert f.shape == (10, 16) and not f.requires_grad and enc.training
    assert torch.allclose(f, evaluate.extract_features(enc, x))


def test_baselines_report_all_keys_in_unit_interval():
    train, test = data.load("digits", "train"), data.load("digits", "test")
    out = {**evaluate.raw_pixel_baseline(train, test), **evaluate.random_init_baseline(train, test, lambda: SmallCNN(1, 4), seed=0)}
    assert set(out) == {"raw_pixel_probe_acc", "raw_pixel_knn_acc", "random_init_probe_acc", "random_init_knn_acc"}
    assert all(0 <= v <= 1 for v in out.values())
    assert out["raw_pixel_probe_acc"] > 0.9  # digits are easy for pixels: the protocol does not handicap them


def test_validation():
    with pytest.raises(ValueError, match="same number"):
        evaluate.linear_probe(np.zeros((3, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1))


# --- downstream: label subsets, supervised training, label efficiency, attributes, weak labels ---


def tiny(split_seed=0, n=60, classes=3, size=8, offset=0.0):
    """A toy dataset whose class is the image brightness (learnable in a few steps)."""
    g = torch.Generator().manual_seed(split_seed)
    labels = torch.arange(n) % classes
    images = (labels.float().view(n, 1, 1, 1) / classes + offset + 0.05 * torch.rand(n, 1, size, size, generator=g)).clamp(0, 1)
    return data.Dataset("tiny", "train", images, labels, tuple(str(c) for c in range(classes)))


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5, 1.0])
def test_label_subset_is_stratified_and_reproducible(fraction):
    y = np.repeat(np.arange(4), [50, 100, 20, 30])
    idx = evaluate.label_subset(y, fraction, seed=3)
    counts = np.bincount(y[idx], minlength=4)
    assert (counts >= 1).all() and len(set(idx)) == len(idx)
    assert np.all(counts == np.maximum(1, np.round(fraction * np.array([50, 100, 20, 30]))))
    assert np.array_equal(idx, evaluate.label_subset(y, fraction, seed=3))
    if fraction < 1:
        assert not np.array_equal(idx, evaluate.label_subset(y, fraction, seed=4))
    with pytest.raises(ValueError, match="fraction"):
        evaluate.label_subset(y, 0.0)


def test_confusion_matrix_and_summarise():
    table = evaluate.confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3)
    assert table.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    rows = [{"encoder": "a", "mode": "fine-tune", "fraction": 0.1, "labels": 5, "seed": s, "accuracy": acc} for s, acc in enumerate([0.5, 0.7])]
    (summary,) = evaluate.summarise(rows)
    assert summary["mean"] == pytest.approx(0.6) and summary["std"] == pytest.approx(0.1) and summary["runs"] == 2


def test_supervised_config_validates():
    with pytest.raises(ValueError, match="steps"):
        evaluate.SupervisedConfig(steps=0)
    with pytest.raises(ValueError, match="lr"):
        evaluate.SupervisedConfig(lr=float("nan"))


def test_fine_tune_learns_and_leaves_the_encoder_untouched():
    train, test = tiny(0), tiny(1)
    encoder = SmallCNN(1, 4)
    before = [p.clone() for p in encoder.parameters()]
    acc = evaluate.fine_tune(encoder, train, test, np.arange(len(train)), NO_AUGMENTATION, evaluate.SupervisedConfig(steps=60, lr=1e-2), seed=0)
    assert acc > 0.9  # brightness classes are easy
    assert all(torch.equal(a, b) for a, b in zip(before, encoder.parameters()))  # it trained a copy


def test_label_efficiency_fits_on_train_labels_only_and_repeats_exactly(monkeypatch):
    # Train images are dark (< 0.5), test images bright: whatever trains a classifier must only ever see dark ones.
    train, test = tiny(0, offset=0.0), tiny(1, offset=0.5)
    train = data.Dataset("tiny", "train", train.images * 0.45, train.labels, train.class_names)
    seen = []
    real_train, real_probe = evaluate.train_classifier, evaluate.probe_predictions
    monkeypatch.setattr(evaluate.supervised, "train_classifier", lambda enc, images, *a, **k: seen.append(images.max().item()) or real_train(enc, images, *a, **k))
    probed = []
    monkeypatch.setattr(evaluate.frozen, "probe_predictions", lambda xtr, ytr, xte, *a: probed.append(len(xtr)) or real_probe(xtr, ytr, xte, *a))
    torch.manual_seed(0)
    encoders = {"enc": SmallCNN(1, 4)}
    run = lambda: evaluate.label_efficiency(encoders, lambda: SmallCNN(1, 4), train, test, NO_AUGMENTATION, fractions=(0.1, 1.0),  # noqa: E731
                                            seeds=(0, 1), config=evaluate.SupervisedConfig(steps=3))
    rows = run()
    assert len(rows) == 2 * 2 * 3 and {r["mode"] for r in rows} == {"linear probe", "fine-tune", evaluate.SCRATCH}
    assert seen and max(seen) < 0.5  # only train images were trained on
    assert sorted(set(probed)) == [6, 60]  # probes fitted on the labelled train subsets only (10%: 2 per class; 100%)
    assert [r["accuracy"] for r in rows] == [r["accuracy"] for r in run()]  # same seed, same results
    assert [r["labels"] for r in rows if r["fraction"] == 0.1][0] == 6


def test_label_efficiency_can_be_cancelled():
    calls = iter([False, False, True])
    rows = evaluate.label_efficiency({"enc": SmallCNN(1, 4)}, None, tiny(0), tiny(1), NO_AUGMENTATION, fractions=(0.5,), seeds=(0, 1, 2),
                                     modes=("linear probe",), should_stop=lambda: next(calls, True))
    assert len(rows) == 2


def test_noisy_labels_flip_the_asked_share_to_other_classes():
    y = np.arange(10000) % 4
    noisy = evaluate.noisy_labels(y, 0.3, 4, seed=0)
    flipped = noisy != y
    assert abs(flipped.mean() - 0.3) < 0.02 and ((noisy >= 0) & (noisy < 4)).all()
    assert np.array_equal(evaluate.noisy_labels(y, 0.0, 4), y) and (evaluate.noisy_labels(y, 1.0, 4) != y).all()
    with pytest.raises(ValueError, match="noise"):
        evaluate.noisy_labels(y, 1.5, 4)


def test_attribute_targets_and_chance_on_shapes():
    train, test = data.load("shapes", "train"), data.load("shapes", "test")
    targets = evaluate.attribute_targets(train)
    assert set(targets) == {"class", "colour", "size", "position"} and set(np.unique(targets["position"])) == set(range(9))
    chance = evaluate.chance_levels(train, test)
    assert 0.2 < chance["class"] < 0.35 and chance["colour"] < 0.25
    assert set(evaluate.attribute_targets(data.load("digits", "train"))) == {"class"}


def test_colour_jitter_makes_features_care_less_about_colour():
    """Acceptance: an encoder trained with strong colour jitter reads colour worse than one trained without (small budget)."""
    from sslviz import experiment

    scores = {}
    for aug in ("SimCLR + rotation", "SimCLR + rotation, no colour"):
        exp = experiment.run("simclr", "shapes", seconds=None, steps=60, seed=0, method_overrides={"augment": aug},
                             train_overrides={"batch_size": 128}, with_baselines=False)
        xtr, xte = evaluate.extract_features(exp.method.encoder, exp.train_set.images), evaluate.extract_features(exp.method.encoder, exp.test_set.images)
        scores[aug] = evaluate.attribute_probes(xtr, xte, exp.train_set, exp.test_set, how="kNN")
    assert scores["SimCLR + rotation"]["colour"] < scores["SimCLR + rotation, no colour"]["colour"], scores


def test_the_selection_protocol_trains_on_fit_and_scores_on_val_only():
    from sslviz import data, experiment

    exp = experiment.run("simclr", "digits", seconds=None, steps=2, seed=0, method_overrides={"width": 4},
                         splits=experiment.SELECTION_PROTOCOL)
    assert exp.summary()["splits"] == ["fit", "val"] and len(exp.test_set) == len(data.load("digits", "val", 0))
    assert len(exp.train_set) == len(data.load("digits", "fit", 0)) and "random_init_knn_acc" in exp.metrics
    default = experiment.run("simclr", "digits", seconds=None, steps=2, seed=0, method_overrides={"width": 4}, with_baselines=False)
    assert default.summary()["splits"] == ["train", "test"]


def test_memo_computes_a_key_once_even_when_threads_ask_together():
    import threading

    from sslviz.experiment import Memo

    memo, started, calls = Memo(2), threading.Barrier(4), []

    def slow():
        calls.append(1)
        return len(calls)

    def ask():
        started.wait()
        results.append(memo.get("k", slow))

    results: list[int] = []
    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1, 1, 1, 1] and memo.computed == 1
    memo.get("a", lambda: 2)
    memo.get("b", lambda: 3)  # size 2: "k" (least recently used) is dropped
    assert "k" not in memo and "a" in memo and "b" in memo
    with pytest.raises(ValueError, match="size"):
        Memo(0)


def test_random_init_baseline_is_cached_by_the_encoders_weights_not_the_methods_other_settings():
    from sslviz import experiment, methods

    experiment.RANDOM_INIT.clear()
    experiment.RAW_PIXELS.clear()

    def baselines(name="simclr", seed=0, **overrides):
        config = methods.default_config(name, "digits", **{"width": 4, **overrides})
        return experiment.baselines(name, config, "digits", seed)

    first = baselines(temperature=0.1)
    assert baselines(temperature=0.5) == first  # a loss setting leaves the starting network as it was
    assert baselines("byol") == first  # so does another method with the same encoder
    assert experiment.RANDOM_INIT.computed == 1 and experiment.RAW_PIXELS.computed == 1
    baselines(width=8)
    baselines(seed=1)
    assert experiment.RANDOM_INIT.computed == 3  # another architecture, other initial weights
    assert experiment.RAW_PIXELS.computed == 2  # raw pixels depend on the seed's split, not the network


def test_the_server_warm_up_leaves_the_default_runs_baselines_cached():
    from sslviz import experiment, methods, recipes

    experiment.RANDOM_INIT.clear()
    experiment.RAW_PIXELS.clear()
    recipes.warm_up("digits", 1)
    assert experiment.RANDOM_INIT.computed == 1 and experiment.RAW_PIXELS.computed == 1
    # what the Contrastive page's default run on digits, seed 1, evaluates afterwards: found, not computed again
    name = methods.of_family("contrastive", dataset="digits")[0]
    config = methods.default_config(name, "digits", in_channels=1)
    first = experiment.baselines(name, config, "digits", 1, recipes.FEW_LABELS)
    assert experiment.RANDOM_INIT.computed == 1 and experiment.RAW_PIXELS.computed == 1
    assert {"raw_pixel_probe_acc", "random_init_knn_acc", "random_init_probe_2_per_class_acc"} <= set(first)


def test_fingerprint_tells_networks_apart_by_architecture_and_weights():
    from sslviz.experiment import fingerprint

    torch.manual_seed(0)
    a = SmallCNN(1, 4)
    torch.manual_seed(0)
    same = SmallCNN(1, 4)
    torch.manual_seed(1)
    other_weights = SmallCNN(1, 4)
    torch.manual_seed(0)
    wider = SmallCNN(1, 8)
    assert fingerprint(a) == fingerprint(same)
    assert len({fingerprint(a), fingerprint(other_weights), fingerprint(wider)}) == 3
