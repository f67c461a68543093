"""Pseudo-labels made from the images themselves: rotations, jigsaw puzzles, holes, grey images.

Each pretext task turns an unlabelled batch into (input, target) pairs. These functions are
batched tensor operations (no per-image Python loops) and exactly invertible where it matters,
which the tests check: rotating back undoes a rotation, the inverse permutation solves a puzzle.
"""

from __future__ import annotations

import itertools

import torch

from sslviz.augment import device_constant, grey  # noqa: F401  (grey: the one luma function; pretext tasks use it as ``pretext.grey``)

# All 24 orders of a 2×2 puzzle's tiles (tile i of the shuffled puzzle is original tile perm[i]).
JIGSAW_ORDERS = tuple(itertools.permutations(range(4)))
JIGSAW_PERMUTATIONS = torch.tensor(JIGSAW_ORDERS)


def rotate(images: torch.Tensor, quarter_turns: torch.Tensor | int) -> torch.Tensor:
    """Rotate each image counter-clockwise by k·90°, with k per image (tensor of N) or one k for all."""
    if isinstance(quarter_turns, int):
        return torch.rot90(images, quarter_turns % 4, dims=(2, 3))
    k = quarter_turns.to(images.device) % 4
    out = images.clone()
    for turns in range(1, 4):  # four cases, each a batched op
        sel = k == turns
        if sel.any():
            out[sel] = torch.rot90(images[sel], turns, dims=(2, 3))
    return out


def all_rotations(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RotNet's batch: every image at 0°, 90°, 180° and 270° (4N images) and the rotation labels (4N)."""
    rotated = torch.cat([torch.rot90(images, k, dims=(2, 3)) for k in range(4)])
    labels = torch.arange(4, device=images.device).repeat_interleave(images.shape[0])
    return rotated, labels


def split_tiles(images: torch.Tensor, grid: int = 2) -> torch.Tensor:
    """N×C×H×W -> N×grid²×C×t×t tiles in row-major order (H and W divisible by ``grid``)."""
    n, c, h, w = images.shape
    if h % grid or w % grid:
        raise ValueError(f"image size {h}×{w} is not divisible into a {grid}×{grid} grid.")
    th, tw = h // grid, w // grid
    tiles = images.reshape(n, c, grid, th, grid, tw).permute(0, 2, 4, 1, 3, 5)
    return tiles.reshape(n, grid * grid, c, th, tw)


def join_tiles(tiles: torch.Tensor, grid: int = 2) -> torch.Tensor:
    """Inverse of ``split_tiles``: N×grid²×C×t×t -> N×C×H×W."""
    n, _, c, th, tw = tiles.shape
    return tiles.reshape(n, grid, grid, c, th, tw).permute(0, 3, 1, 4, 2, 5).reshape(n, c, grid * th, grid * tw)


def shuffle_tiles(tiles: torch.Tensor, perm_index: torch.Tensor, permutations: torch.Tensor = JIGSAW_PERMUTATIONS) -> torch.Tensor:
    """Reorder each image's tiles by its permutation: out[n, i] = tiles[n, permutations[perm_index[n], i]]."""
    # The default table is copied to a GPU once, not every step (a host-to-device copy waits for the queued work).
    if permutations is JIGSAW_PERMUTATIONS:
        table = device_constant(JIGSAW_ORDERS, tiles.device, torch.long)
    else:
        table = permutations.to(tiles.device)
    order = table[perm_index]  # N×T
    return tiles[torch.arange(tiles.shape[0], device=tiles.device).unsqueeze(1), order]


def inverse_permutations(permutations: torch.Tensor = JIGSAW_PERMUTATIONS) -> torch.Tensor:
    """For each permutation p, the q with p[q[i]] = i: applying q after p restores the original order."""
    return permutations.argsort(dim=1)


def crop_tiles(tiles: torch.Tensor, gap: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Cut each tile (N×T×C×t×t) down to (t−gap)² at its own random offset: gaps and jitter hide the edge cues between tiles."""
    if gap == 0:
        return tiles
    n, count, _, t, _ = tiles.shape
    size = t - gap
    if size < 1:
        raise ValueError(f"gap {gap} leaves nothing of a {t}-pixel tile.")
    offset = torch.randint(0, gap + 1, (2, n, count, 1, 1), generator=generator, device=tiles.device)
    steps = torch.arange(size, device=tiles.device)
    rows = offset[0] + steps.view(1, 1, size, 1)  # N×T×size×1
    cols = offset[1] + steps.view(1, 1, 1, size)  # N×T×1×size
    image = torch.arange(n, device=tiles.device).view(n, 1, 1, 1)
    tile = torch.arange(count, device=tiles.device).view(1, count, 1, 1)
    return tiles.permute(0, 1, 3, 4, 2)[image, tile, rows, cols].permute(0, 1, 4, 2, 3)  # back to N×T×C×size×size


def box_masks(n: int, height: int, width: int, size: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """N×1×H×W bool masks, each True on one size×size square at a uniformly random position."""
    if not 1 <= size <= min(height, width):
        raise ValueError(f"hole size must be between 1 and {min(height, width)}, got {size}.")
    top = torch.randint(0, height - size + 1, (n,), generator=generator, device=device)
    left = torch.randint(0, width - size + 1, (n,), generator=generator, device=device)
    rows = torch.arange(height, device=device).view(1, height, 1)
    cols = torch.arange(width, device=device).view(1, 1, width)
    inside = (rows >= top.view(n, 1, 1)) & (rows < (top + size).view(n, 1, 1)) & (cols >= left.view(n, 1, 1)) & (cols < (left + size).view(n, 1, 1))
    return inside.unsqueeze(1)

