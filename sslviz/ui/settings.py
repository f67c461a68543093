"""The global sidebar: dataset, seed, device and training budget, shared by every page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import streamlit as st
import torch

from sslviz import data, environment, jobs
from sslviz.data import own
from sslviz.ui import classroom
from sslviz.ui.own_images import options, upload_panel

BUDGET_RANGE = (5, 120)
DEFAULTS = {"global.dataset": "shapes", "global.seed": 0, "global.seconds": 30}


@dataclass(frozen=True)
class GlobalSettings:
    dataset: str
    seed: int
    device: str
    seconds: int

    @property
    def dataset_title(self) -> str:
        """The dataset as people read it: its name, or "Your images: …" for an upload."""
        return dataset_title(self.dataset)


def dataset_title(name: str) -> str:
    """A dataset as people read it: its name, or "Your images: …" for an upload."""
    return own.title(name)


def available_devices() -> list[str]:
    """'auto' and 'cpu', plus the accelerators actually present."""
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps and mps.is_available():
        devices.append("mps")
    return devices


@dataclass(frozen=True)
class Param:
    """A setting that a shareable link carries: its name in the URL, the widget's session-state key, its valid values."""

    name: str
    key: str
    options: Sequence[Any]

    def parse(self, text: str) -> Any:
        """The option ``text`` names (numbers compare by value: "0.2" and "2e-1" are the same); ValueError otherwise."""
        for option in self.options:
            if str(option) == text:
                return option
            if isinstance(option, (int, float)) and not isinstance(option, bool):
                try:
                    if float(text) == float(option):
                        return option
                except ValueError:
                    pass
        shown = ", ".join(map(str, self.options)) if len(self.options) <= 12 else f"{self.options[0]}…{self.options[-1]}"
        raise ValueError(f"{self.name}={text[:40]!r} is not one of {shown}")


class DatasetParam(Param):
    """The dataset in a link: a registered one, or your own images that this server holds (``own-…``, ``folder-…``)."""

    def parse(self, text: str) -> Any:
        if text.startswith((own.PREFIX, own.FOLDER_PREFIX)) and (own.names_of([text]) or text in own.shared_folders()):
            return text
        return super().parse(text)


GLOBAL_PARAMS = (DatasetParam("dataset", "global.dataset", data.names()), Param("seed", "global.seed", range(0, 10_001)),
                 Param("seconds", "global.seconds", range(BUDGET_RANGE[0], BUDGET_RANGE[1] + 1, 5)))


def from_url(params: Sequence[Param], scope: str) -> None:
    """Once per session and ``scope``: put the valid query parameters of the URL into the widgets' state.

    Invalid or out-of-range ones are ignored, so their widgets keep their defaults, and a notice
    names each with the reason. Call before the widgets are created.
    """
    applied = st.session_state.setdefault("url.applied", set())
    if scope in applied:
        return
    applied.add(scope)
    problems = []
    for param in params:
        if param.name in st.query_params:
            try:
                st.session_state[param.key] = param.parse(st.query_params[param.name])
            except ValueError as err:
                problems.append(str(err))
    if problems:
        st.warning("Some settings in the link could not be used, so they keep their defaults: " + "; ".join(problems) + ".", icon=":material/link_off:")


def to_url(params: Sequence[Param]) -> None:
    """Write the widgets' current values into the URL, so the address bar is always a link to these settings."""
    for param in params:
        if param.key in st.session_state:
            st.query_params[param.name] = str(st.session_state[param.key])


def default(key: str, value: Any) -> dict[str, Any]:
    """``value=`` for a widget unless its state is already set (by a link): passing both makes Streamlit warn."""
    return {} if key in st.session_state else {"value": value}


def sidebar() -> GlobalSettings:
    """Render the global settings in the sidebar and return them (dataset, seed and budget also travel in the URL)."""
    classroom.start_run()
    from_url(GLOBAL_PARAMS, "global")
    # Defaults go into the session state (not the widgets), so a page may change them from a callback (presets).
    # The budget's comes from the dataset, once it is chosen (below).
    for key, value in DEFAULTS.items():
        if key != "global.seconds":
            st.session_state.setdefault(key, value)
    with st.sidebar:
        st.header("Settings")
        chooser = st.container()  # the dataset box sits above the upload, which may choose for it (so it runs first)
        if not (classroom.locked() or classroom.hidden("dataset")):  # a class link that fixes the dataset takes no uploads either
            upload_panel("global.dataset")
        with chooser:
            choices = [*data.names(), *options(st.session_state.get("global.dataset"))]
            if st.session_state.get("global.dataset") not in choices:
                st.session_state["global.dataset"] = DEFAULTS["global.dataset"]
            dataset = classroom.control(
                "dataset", "Dataset", st.selectbox, choices, key="global.dataset", format_func=own.title, default=DEFAULTS["global.dataset"],
                help=" ".join(f"{d.name}: {d.summary}" for d in data.REGISTRY.values()) + " Your images: a zip under “Your images” below.",
            )
        follow_budget(dataset)
        seed = classroom.control("seed", "Seed", st.number_input, min_value=0, max_value=10_000, step=1, key="global.seed", default=DEFAULTS["global.seed"],
                                 help="Same seed and settings, same run.")
        devices = available_devices()
        device = classroom.control("device", "Device", st.selectbox, devices, key="global.device", default="auto", help="'auto' uses a GPU when there is one.")
        seconds = classroom.control("seconds", "Training budget (seconds)", st.slider, *BUDGET_RANGE, step=5, key="global.seconds",
                                    default=dataset_seconds(dataset))
        classroom.presenter_toggle()
        st.caption("The address bar holds these settings and the page's: copy it to share this setup.")
        server_limits()
    to_url(GLOBAL_PARAMS)
    return GlobalSettings(dataset, int(seed), device, int(seconds))


def dataset_seconds(name: str) -> int:
    """The budget the sidebar starts at on dataset ``name`` (its registration's ``seconds``, within the slider's range)."""
    try:
        seconds = data.info(name).seconds
    except ValueError:
        return DEFAULTS["global.seconds"]
    return int(min(max(5 * round(seconds / 5), BUDGET_RANGE[0]), BUDGET_RANGE[1]))


def follow_budget(dataset: str) -> None:
    """Start the budget at the dataset's default, and move it with the dataset — unless the user (or a link, or a preset)
    set another value: a chosen budget is kept. Call before the budget slider is drawn."""
    s = st.session_state
    previous = s.get("global.seconds_for")
    s["global.seconds_for"] = dataset
    if "global.seconds" not in s:
        s["global.seconds"] = dataset_seconds(dataset)
    elif previous is not None and previous != dataset and s["global.seconds"] == dataset_seconds(previous):
        s["global.seconds"] = dataset_seconds(dataset)


def server_limits() -> None:
    """What the server allows each run (SSLVIZ_* environment variables), and any value of those it refused."""
    r = jobs.RUNNER
    with st.expander("Server limits", expanded=bool(environment.PROBLEMS)):
        st.caption(f"{r.max_concurrent} run(s) train at a time (others queue); a run stops after {r.max_seconds / 60:g} min, "
                   f"after {r.idle_seconds / 60:g} min that no page shows it, or when it adds {r.max_job_mb / 1024:g} GB to the server's memory "
                   f"(whole server: {r.max_rss_mb / 1024:g} GB). Set by the SSLVIZ_* environment variables (README).")
        for problem in environment.PROBLEMS:
            st.warning(problem, icon=":material/warning:")


def current() -> GlobalSettings:
    """The settings as the sidebar left them (defaults when a page runs alone, e.g. in tests)."""
    s = st.session_state
    d = DEFAULTS
    return GlobalSettings(s.get("global.dataset", d["global.dataset"]), int(s.get("global.seed", d["global.seed"])), s.get("global.device", "auto"),
                          int(s.get("global.seconds", d["global.seconds"])))
