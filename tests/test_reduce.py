import numpy as np
import pytest

from sslviz.reduce import pca_2d, project_2d, tsne_2d


def test_pca_finds_the_main_axis():
    rng = np.random.default_rng(0)
    x = np.zeros((100, 5))
    x[:, 2] = rng.normal(0, 10, 100)
    x[:, 4] = rng.normal(0, 0.1, 100)
    p = pca_2d(x)
    assert p.shape == (100, 2)
    assert abs(np.corrcoef(p[:, 0], x[:, 2])[0, 1]) > 0.999


def test_tsne_and_dispatch():
    x = np.random.default_rng(0).normal(size=(40, 8))
    assert tsne_2d(x).shape == (40, 2)
    assert project_2d(x, "PCA").shape == (40, 2)
    assert pca_2d(np.ones((1, 3))).shape == (1, 2)
    with pytest.raises(ValueError, match="Unknown projection"):
        project_2d(x, "UMAP?")
    with pytest.raises(ValueError, match="NaN"):
        pca_2d(np.full((4, 2), np.nan))
