"""Shared fixtures: small deterministic inputs; tests never download anything."""

import os

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest.ini runs the suite in one process per core (pytest-xdist): each trains on one thread, so
    # two workers on two cores do not fight over them (torch's spinning threads slow everyone down).
    os.environ["SSLVIZ_TORCH_THREADS"] = "1"
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    yield
