"""2-D projections of embeddings for plotting: PCA (instant) and t-SNE (a few seconds)."""

from __future__ import annotations

import numpy as np
import torch

METHODS = ("PCA", "t-SNE")


def _as_matrix(x: torch.Tensor | np.ndarray) -> np.ndarray:
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    x = x.reshape(len(x), -1).astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError("cannot project embeddings that contain NaN or infinity.")
    return x


def pca_2d(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """Project rows of ``x`` on their first two principal components (N×2)."""
    x = _as_matrix(x)
    x = x - x.mean(0)
    if len(x) < 2:
        return np.zeros((len(x), 2))
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    out = x @ vt[:2].T
    return np.pad(out, ((0, 0), (0, 2 - out.shape[1])))  # 1-D data still gives N×2


def tsne_2d(x: torch.Tensor | np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """t-SNE embedding of the rows of ``x`` (N×2); perplexity is capped for small N."""
    from sklearn.manifold import TSNE

    x = _as_matrix(x)
    if len(x) < 5:
        return pca_2d(x)
    perplexity = min(perplexity, (len(x) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)


def project_2d(x: torch.Tensor | np.ndarray, method: str = "PCA", seed: int = 0) -> np.ndarray:
    """Dispatch to ``pca_2d`` or ``tsne_2d`` by name."""
    if method == "PCA":
        return pca_2d(x)
    if method == "t-SNE":
        return tsne_2d(x, seed=seed)
    raise ValueError(f"Unknown projection {method!r}. Choose one of: {', '.join(METHODS)}.")
