"""The break-it experiments collapse and the detector flags them; normal runs are not flagged."""

import pytest

from sslviz import diagnostics, experiment

STEPS = 60
BROKEN_STEPS = 120  # SimSiam's bottleneck predictor (hidden = d/4) slows the collapse: flagged from ~80 steps on digits


def run(name, steps=STEPS, **overrides):
    exp = experiment.run(name, "digits", seconds=None, steps=steps, seed=0, method_overrides=overrides, with_baselines=False)
    return diagnostics.is_collapsed(exp.result.history, exp.method.config.proj_dim), exp.result.history[-1]


@pytest.mark.parametrize("name, overrides", [
    ("byol", {"use_predictor": False}),
    ("simsiam", {"stop_gradient": False, "projector_output_norm": False}),
])
def test_broken_methods_collapse(name, overrides):
    collapsed, last = run(name, BROKEN_STEPS, **overrides)
    assert collapsed, last
    assert last["embedding_std"] * 8 < diagnostics.COLLAPSE_STD_RATIO or last["effective_rank"] < diagnostics.COLLAPSE_RANK


@pytest.mark.parametrize("name", ["simclr", "byol", "simsiam"])
def test_normal_runs_are_not_flagged(name):
    collapsed, last = run(name)
    assert not collapsed, last
