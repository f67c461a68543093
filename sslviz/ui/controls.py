"""Widgets built from a method's declared settings (``sslviz.setting``): one builder for every page and method.

A page calls :func:`method_settings`; it lays out one widget per exposed config field (and, if
asked, per exposed training setting), with the default for the sidebar's dataset, the declared
choices, label and help, and carries each value in the URL so a shared link restores it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from sslviz import methods
from sslviz.setting import Setting, choices, exposed
from sslviz.train import TrainConfig
from sslviz.ui import classroom, settings


def _valid(method: str, dataset: str, name: str, values: list[Any]) -> list[Any]:
    """The values of config field ``name`` that make a valid config on ``dataset`` (e.g. patch sizes that divide the image)."""
    out = []
    for value in values:
        try:
            methods.default_config(method, dataset, **{name: value})
        except ValueError:
            continue
        out.append(value)
    return out


def _widget(column: Any, s: Setting, name: str, key: str, values: list[Any], default: Any) -> Any:
    """One setting's widget, drawn as the class link says (``name``: its link parameter; see ``classroom.control``)."""
    common = dict(key=key, help=s.help or None, default=default)
    if not s.options:
        return classroom.control(name, s.label, column.toggle, **common, **settings.default(key, default))
    if all(isinstance(v, str) for v in values):
        index = values.index(default) if key not in st.session_state else None
        return classroom.control(name, s.label, column.selectbox, values, **common, **({"index": index} if index is not None else {}))
    return classroom.control(name, s.label, column.select_slider, values, format_func=s.show, **common, **settings.default(key, default))


def _follow_dataset(key: str, method: str, dataset: str, defaults: dict[str, Any]) -> None:
    """When the sidebar's dataset changed, the settings that dataset implies (its augmentation preset, image size) take
    its defaults again: a widget would otherwise keep the previous dataset's value (shapes' rotation on digits)."""
    seen = f"{key}.{method}.for_dataset"
    previous = st.session_state.get(seen)
    st.session_state[seen] = dataset
    if previous is None or previous == dataset:
        return
    try:
        before = dataclasses.asdict(methods.default_config(method, previous))
    except ValueError:
        before = {}
    for name, default in defaults.items():
        if before.get(name) != default:
            st.session_state.pop(f"{key}.{method}.{name}", None)


def method_settings(key: str, method: str, dataset: str, train: bool = False, url_prefix: str = "", columns: int = 4,
                    skip: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """Widgets for ``method``'s exposed settings on ``dataset``; returns (method overrides, training overrides).

    Widget keys are ``{key}.{method}.{field}``; URL parameters are ``{url_prefix}{field}``.
    With ``train`` the exposed ``TrainConfig`` settings (batch size, learning rate) come too.
    """
    config = dataclasses.asdict(methods.default_config(method, dataset))
    train_config = {**dataclasses.asdict(TrainConfig()), **methods.train_defaults(method, dataset)}
    rows = [(name, s, config[name], "method") for name, s in methods.spec(method).settings().items() if name not in skip]
    if train:
        rows += [(name, s, train_config[name], "train") for name, s in exposed(TrainConfig).items() if name not in skip]
    values = {name: (_valid(method, dataset, name, choices(s, d)) if kind == "method" else choices(s, d)) for name, s, d, kind in rows}
    params = [settings.Param(f"{url_prefix}{name}", f"{key}.{method}.{name}", values[name]) for name, *_ in rows]
    settings.from_url(params, f"{key}.{method}")
    _follow_dataset(key, method, dataset, {name: default for name, _, default, kind in rows if kind == "method"})
    out: dict[str, dict[str, Any]] = {"method": {}, "train": {}}
    cols = st.columns(columns)
    for i, (name, s, default, kind) in enumerate(rows):
        out[kind][name] = _widget(cols[i % columns], s, f"{url_prefix}{name}", f"{key}.{method}.{name}", values[name], default)
    settings.to_url(params)
    return out["method"], out["train"]


def method_picker(key: str, names: list[str], label: str = "Method") -> str:
    """A select box of registered methods (title — summary), carried in the URL as ``method``."""
    param = settings.Param("method", f"{key}.method", names)
    settings.from_url([param], f"{key}.method")
    if st.session_state.get(f"{key}.method") not in names:
        st.session_state.pop(f"{key}.method", None)
    choice = classroom.control("method", label, st.selectbox, names, format_func=lambda m: f"{methods.title(m)} — {methods.spec(m).summary}",
                               key=f"{key}.method", default=names[0])
    settings.to_url([param])
    return choice
