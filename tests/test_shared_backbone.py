"""Comparisons across methods train the same encoder, even where one method is tuned to a wider one (SimCLR on clutter)."""

import pytest

from sslviz import methods, recipes
from sslviz.recipes.compare import encoder_width
from sslviz.recipes.downstream import same_backbone

SIAMESE = ["simclr", "moco", "byol", "simsiam"]


def widths(runs: dict, dataset: str) -> set:
    return {methods.default_config(name, dataset, **overrides).width for name, overrides in runs.values()}


def test_simclr_on_clutter_is_tuned_wider_than_the_others():
    # The premise of everything below (issue 24: width 32 on clutter, chosen on the validation split).
    assert encoder_width("simclr", "clutter") == 32 and encoder_width("moco", "clutter") == 16
    assert encoder_width("mae", "clutter") is None  # MAE's width is its ViT's token dimension, not a CNN's


@pytest.mark.parametrize("dataset", ["clutter", "shapes", "digits"])
def test_a_family_comparison_trains_one_encoder_width(dataset):
    runs = recipes.same_settings(SIAMESE, dataset)
    assert widths(runs, dataset) == {16}
    everyone = [n for group in methods.by_mechanism(dataset).values() for n in group]
    for mechanism in methods.by_mechanism(dataset):
        runs = recipes.mechanism_runs(mechanism, dataset)
        assert widths(runs, dataset) == {recipes.shared_width(everyone, dataset)} == {16}, (mechanism, runs)
        broken = [o for label, (_, o) in runs.items() if label not in {methods.title(n) for n in everyone}]
        assert all(o for o in broken)  # each break-it keeps its own settings besides the width


def test_the_page_says_which_method_was_narrowed():
    assert recipes.backbone_note(SIAMESE, "shapes") == "the same 3-conv encoder (width 16)"
    note = recipes.backbone_note(SIAMESE, "clutter")
    assert note.startswith("the same 3-conv encoder (width 16") and "SimCLR's default on this dataset is 32" in note
    assert "MoCo" not in note


def test_shared_width_is_the_most_common_and_the_narrowest_on_a_tie():
    assert recipes.shared_width(["simclr"], "clutter") == 32
    assert recipes.shared_width(["simclr", "moco"], "clutter") == 16
    assert recipes.shared_width(["simclr", "simclr", "moco"], "clutter") == 32
    assert recipes.shared_width(["mae"], "clutter") is None


def test_downstream_pretrains_every_encoder_on_the_from_scratch_backbone():
    assert same_backbone("simclr", "clutter", {}) == {"width": recipes.backbone_width()} == {"width": 16}
    assert same_backbone("simclr", "clutter", {"augment": "SimCLR + rotation, no colour"}) == {"width": 16, "augment": "SimCLR + rotation, no colour"}
    assert same_backbone("moco", "clutter", {}) == {} and same_backbone("mae", "clutter", {}) == {}
    assert same_backbone("simclr", "shapes", {}) == {}
