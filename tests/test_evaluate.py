import numpy as np
import pytest
import torch

from sslviz import data, evaluate
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
    out = evaluate.baselines(train, test, lambda: SmallCNN(1, 4), seed=0)
    assert set(out) == {"raw_pixel_probe_acc", "raw_pixel_knn_acc", "random_init_probe_acc", "random_init_knn_acc"}
    assert all(0 <= v <= 1 for v in out.values())
    assert out["raw_pixel_probe_acc"] > 0.9  # digits are easy for pixels: the protocol does not handicap them


def test_validation():
    with pytest.raises(ValueError, match="same number"):
        evaluate.linear_probe(np.zeros((3, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1))
