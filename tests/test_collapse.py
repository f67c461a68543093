"""The break-it experiments collapse and the detector flags them; normal runs are not flagged."""

import math

import pytest

from sslviz import diagnostics, experiment, methods

STEPS = 60
BROKEN_STEPS = 120  # BYOL and SimSiam broken: flagged from ~80 steps on digits
# Without its redundancy term Barlow Twins' rank falls below the dimensional bar (6.4 of 64) by step 20 on shapes and stays
# there (seeds 0-5, 100 steps: at most 6.37 after step 20; 4.0 at 300). On digits it falls slowly: 9.8 at 100 steps, 6.2 at 400.
BARLOW_STEPS = 100


def run(name, steps=STEPS, **overrides):
    exp = experiment.run(name, "digits", seconds=None, steps=steps, seed=0, method_overrides=overrides, with_baselines=False, evaluated=False)
    return diagnostics.is_collapsed(exp.result.history), exp.result.history[-1]


def kind(name, steps, overrides, dataset="digits"):
    exp = experiment.run(name, dataset, seconds=None, steps=steps, seed=0, method_overrides=overrides, with_baselines=False, evaluated=False)
    return diagnostics.collapse_kind(exp.result.history), exp.result.history


@pytest.mark.parametrize("name", ["simclr", "byol", "simsiam"])
def test_normal_runs_are_not_flagged(name):
    collapsed, last = run(name)
    assert not collapsed, last


# Every "break it" in the registry (the Collapse page's buttons): the step budget within which it collapses on digits, and how.
BREAKS = {
    "SimCLR without negatives": (100, "total"),
    "BYOL without predictor": (BROKEN_STEPS, "total"),
    "SimSiam without stop-gradient": (BROKEN_STEPS, "total"),
    "DINO without centering": (100, "total"),  # one output dominates: teacher entropy → 0
    "DINO without sharpening": (100, "total"),  # uniform output: teacher entropy → log K
    "Barlow Twins, λ = 0": (BARLOW_STEPS, "dimensional", "shapes"),
    "VICReg, invariance only": (100, "total"),  # shrinks to the origin
    "SwAV without equal partition": (100, "total"),  # one prototype for everything
}


def registry_breaks():
    return {label: (name, overrides) for name, s in methods.REGISTRY.items() for label, (overrides, _) in s.breaks.items()}


def test_every_break_it_in_the_registry_has_a_measured_budget():
    assert set(registry_breaks()) == set(BREAKS)
    for label, (name, _) in registry_breaks().items():  # a one-click break-it on a page runs at least as long as its collapse needs here
        assert methods.spec(name).break_steps >= BREAKS[label][0], label


@pytest.mark.parametrize("label", sorted(BREAKS))
def test_every_break_it_collapses_within_its_budget_and_is_flagged(label):
    name, overrides = registry_breaks()[label]
    steps, expected, *dataset = BREAKS[label]
    found, history = kind(name, steps, overrides, *dataset)
    last = history[-1]
    assert found == expected, (label, last)
    if label in ("BYOL without predictor", "SimSiam without stop-gradient"):  # a point: no spread (std × √d) or rank ≈ 1
        assert last["embedding_std"] * 8 < diagnostics.COLLAPSE_STD_RATIO or last["effective_rank"] < diagnostics.COLLAPSE_RANK, last
    # how each fails, in the method's own signal: DINO's two collapses go opposite ways (the paper's Fig. 7)
    log_k = math.log(64)
    if label == "DINO without centering":
        assert last["teacher_entropy"] < 0.3 * log_k, last  # one output dominates: near one-hot
    if label == "DINO without sharpening":
        assert last["teacher_entropy"] > 0.95 * log_k, last  # uniform
    if label == "SwAV without equal partition":
        assert last["prototypes_used"] <= 2, last  # everything in one prototype


@pytest.mark.parametrize("name, steps", [("barlow_twins", 100), ("vicreg", 100), ("swav", 100), ("moco", STEPS),
                                          ("dino", 100)])  # teacher entropy 0.94-0.97 of log K at steps 25-300, under the 0.99 bar
def test_the_new_methods_trained_normally_are_not_flagged(name, steps):
    found, history = kind(name, steps, {})
    assert found is None, (name, history[-1])
    if name == "swav":
        assert history[-1]["prototypes_used"] >= 16, history[-1]  # the equal partition keeps the prototypes in use

