"""k-means with the empty-cluster fix, PCA whitening, and the clustering scores."""

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from sslviz import evaluate
from sslviz.cluster import kmeans, pca_whiten


def collapsed_features(n=1000, share=0.9, dim=8, seed=0):
    """Features where ``share`` of the points sit on one point — what collapsed features look like."""
    x = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))
    x[: int(share * n)] = x[0]
    return x


def test_without_the_fix_collapsed_features_leave_clusters_empty_and_the_fix_removes_them():
    x = collapsed_features()
    broken = kmeans(x, 30, fix_empty=False, generator=torch.Generator().manual_seed(0))
    fixed = kmeans(x, 30, fix_empty=True, generator=torch.Generator().manual_seed(0))
    assert broken.empty > 0 and (torch.bincount(broken.labels, minlength=30) == 0).sum() == broken.empty
    assert fixed.empty == 0 and (torch.bincount(fixed.labels, minlength=30) > 0).all() and fixed.refilled > 0


def test_fix_stops_when_there_are_fewer_distinct_points_than_clusters():
    x = torch.tensor([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    result = kmeans(x, 4, generator=torch.Generator().manual_seed(0))
    assert result.empty == 2  # two distinct points can fill only two clusters; no endless loop


def test_kmeans_recovers_separated_blobs():
    g = torch.Generator().manual_seed(1)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = torch.arange(3).repeat_interleave(50)
    x = centres[truth] + 0.3 * torch.randn(150, 2, generator=g)
    runs = [kmeans(x, 3, generator=torch.Generator().manual_seed(s)) for s in range(5)]
    # random-point initialisation (as in DeepCluster) can start two centroids in one blob; restarts find the blobs
    assert max(evaluate.nmi(r.labels.numpy(), truth.numpy()) for r in runs) == pytest.approx(1.0)
    for r in runs:  # every run ends at a Lloyd fixed point: nearest-centroid labels, centroids = means of their members
        assert torch.equal(r.labels, torch.cdist(x, r.centroids).argmin(1))
        for c in r.labels.unique():
            assert torch.allclose(r.centroids[c], x[r.labels == c].mean(0), atol=1e-4)
    with pytest.raises(ValueError, match="k must be"):
        kmeans(x, 151)


def test_pca_whiten_gives_unit_rows_and_decorrelated_components():
    x = torch.randn(500, 20, generator=torch.Generator().manual_seed(0)) @ torch.randn(20, 20, generator=torch.Generator().manual_seed(1))
    w = pca_whiten(x, 8)
    assert w.shape == (500, 8) and torch.allclose(w.norm(dim=1), torch.ones(500), atol=1e-5)
    x_const = torch.ones(10, 4)  # no variance at all: no NaN
    assert torch.isfinite(pca_whiten(x_const, 2)).all()


@pytest.mark.parametrize("n, ka, kb", [(100, 3, 5), (500, 10, 30), (50, 1, 4), (40, 40, 2), (7, 1, 1)])
def test_nmi_and_ari_agree_with_scikit_learn(n, ka, kb):
    rng = np.random.default_rng(n)
    a, b = rng.integers(0, ka, n), rng.integers(0, kb, n)
    b_correlated = np.where(rng.random(n) < 0.7, a, b)
    for x, y in ((a, b), (a, b_correlated), (a, a)):
        assert evaluate.nmi(x, y) == pytest.approx(normalized_mutual_info_score(x, y), abs=1e-10)
        assert evaluate.ari(x, y) == pytest.approx(adjusted_rand_score(x, y), abs=1e-10)


def test_nmi_ignores_how_clusters_are_numbered_and_changed_fraction_matches_ids():
    a = np.array([0, 0, 1, 1, 2, 2])
    renamed = np.array([5, 5, 3, 3, 9, 9])
    assert evaluate.nmi(a, renamed) == pytest.approx(1.0) and evaluate.changed_fraction(a, renamed) == 0.0
    assert evaluate.changed_fraction(a, np.array([5, 5, 3, 3, 9, 3])) == pytest.approx(1 / 6)
    with pytest.raises(ValueError):
        evaluate.nmi(a, a[:3])


def test_kmeans_scores_name_every_cue():
    x = torch.randn(60, 5, generator=torch.Generator().manual_seed(0))
    cues = {"class": np.arange(60) % 3, "colour": np.arange(60) % 2}
    out = evaluate.kmeans_scores(x, cues, k=4)
    assert set(out) == {"nmi", "ari", "nmi_colour"} and all(0 <= v <= 1 for k, v in out.items() if k != "ari")
