"""Pseudo-labels made from the data: rotations, jigsaw tiles, holes, grey images — exact and invertible."""

import pytest
import torch

from sslviz import pretext


@pytest.fixture
def images():
    return torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_rotating_by_k_quarter_turns_and_back_is_the_identity(images, k):
    assert torch.equal(pretext.rotate(pretext.rotate(images, k), -k), images)
    assert torch.equal(pretext.rotate(images, 4), images)


def test_per_image_rotations_match_rot90(images):
    k = torch.tensor([0, 1, 2, 3, 1, 2])
    out = pretext.rotate(images, k)
    for i in range(6):
        assert torch.equal(out[i], torch.rot90(images[i], int(k[i]), dims=(1, 2)))
    assert torch.equal(pretext.rotate(out, -k), images)


def test_all_rotations_labels_the_turns(images):
    x, labels = pretext.all_rotations(images)
    assert x.shape == (24, 3, 8, 8) and labels.tolist() == [k for k in range(4) for _ in range(6)]
    assert torch.equal(x[6 * 2 + 1], torch.rot90(images[1], 2, dims=(1, 2)))


def test_tiles_split_and_join_exactly(images):
    tiles = pretext.split_tiles(images, 2)
    assert tiles.shape == (6, 4, 3, 4, 4)
    assert torch.equal(tiles[:, 1], images[:, :, :4, 4:])  # tile 1 = top right
    assert torch.equal(pretext.join_tiles(tiles, 2), images)
    with pytest.raises(ValueError, match="grid"):
        pretext.split_tiles(torch.rand(1, 1, 7, 7), 2)


def test_inverse_permutation_solves_every_puzzle(images):
    tiles = pretext.split_tiles(images, 2)
    inverse = pretext.inverse_permutations()
    for p in range(len(pretext.JIGSAW_PERMUTATIONS)):
        perm = torch.full((6,), p)
        shuffled = pretext.shuffle_tiles(tiles, perm)
        assert torch.equal(shuffled[:, 0], tiles[:, pretext.JIGSAW_PERMUTATIONS[p, 0]])
        solved = pretext.shuffle_tiles(shuffled, perm, inverse)
        assert torch.equal(pretext.join_tiles(solved, 2), images)
    assert len(pretext.JIGSAW_PERMUTATIONS) == 24 and len({tuple(p.tolist()) for p in pretext.JIGSAW_PERMUTATIONS}) == 24


@pytest.mark.parametrize("size", [1, 3, 8])
def test_box_masks_cover_exactly_one_square_of_the_claimed_size(size):
    masks = pretext.box_masks(50, 8, 8, size, torch.Generator().manual_seed(1))
    assert masks.shape == (50, 1, 8, 8) and (masks.sum(dim=(1, 2, 3)) == size * size).all()
    rows, cols = masks.any(dim=3).squeeze(1), masks.any(dim=2).squeeze(1)
    assert (rows.sum(1) == size).all() and (cols.sum(1) == size).all()  # one contiguous square, not scattered pixels
    with pytest.raises(ValueError, match="hole size"):
        pretext.box_masks(1, 8, 8, 9)


def test_grey_uses_luminance_and_keeps_grey_images(images):
    g = pretext.grey(images)
    assert g.shape == (6, 1, 8, 8)
    assert torch.allclose(g[:, 0], 0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2])
    one = torch.rand(2, 1, 4, 4)
    assert pretext.grey(one) is one


def test_crop_tiles_takes_a_window_of_each_tile():
    tiles = pretext.split_tiles(torch.arange(2 * 64.0).reshape(2, 1, 8, 8), 2)  # 2×4×1×4×4, every pixel unique
    cropped = pretext.crop_tiles(tiles, 2, torch.Generator().manual_seed(0))
    assert cropped.shape == (2, 4, 1, 2, 2)
    for n in range(2):
        for t in range(4):
            window = cropped[n, t, 0]
            r, c = [int(v) for v in torch.nonzero(tiles[n, t, 0] == window[0, 0])[0]]
            assert torch.equal(tiles[n, t, 0, r : r + 2, c : c + 2], window)  # a contiguous window of the same tile
    assert pretext.crop_tiles(tiles, 0) is tiles
