"""The global sidebar: dataset, seed, device and training budget, shared by every page."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
import torch

from sslviz import data

BUDGET_RANGE = (5, 120)
DEFAULTS = {"global.dataset": "shapes", "global.seed": 0, "global.seconds": 30}


@dataclass(frozen=True)
class GlobalSettings:
    dataset: str
    seed: int
    device: str
    seconds: int


def available_devices() -> list[str]:
    """'auto' and 'cpu', plus the accelerators actually present."""
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps and mps.is_available():
        devices.append("mps")
    return devices


def sidebar() -> GlobalSettings:
    """Render the global settings in the sidebar and return them."""
    # Defaults go into the session state (not the widgets), so a page may change them from a callback (presets).
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    with st.sidebar:
        st.header("Settings")
        dataset = st.selectbox(
            "Dataset", data.DATASETS, key="global.dataset",
            help="shapes: coloured shapes where pixels alone do not reveal the class (SSL wins clearly). digits: 8×8 handwritten digits, upscaled. "
            "photos: crops of two colour photographs (for colorization and inpainting; the label is which photo). "
            "clutter: six shapes on random colour textures with small distractor shapes and noise — hard; 6,000 training images.",
        )
        seed = st.number_input("Seed", min_value=0, max_value=10_000, step=1, key="global.seed", help="Same seed and settings, same run.")
        devices = available_devices()
        device = st.selectbox("Device", devices, key="global.device", help="'auto' uses a GPU when there is one.")
        seconds = st.slider("Training budget (seconds)", *BUDGET_RANGE, step=5, key="global.seconds")
    return GlobalSettings(dataset, int(seed), device, int(seconds))


def current() -> GlobalSettings:
    """The settings as the sidebar left them (defaults when a page runs alone, e.g. in tests)."""
    s = st.session_state
    d = DEFAULTS
    return GlobalSettings(s.get("global.dataset", d["global.dataset"]), int(s.get("global.seed", d["global.seed"])), s.get("global.device", "auto"),
                          int(s.get("global.seconds", d["global.seconds"])))
