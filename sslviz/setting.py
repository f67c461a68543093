"""Settings a page may expose, declared once on a config dataclass field (its default, label, choices and help).

A config field made with :func:`setting` carries what a widget and a shared link need; pages build
their controls and URL parameters from :func:`exposed` and never restate a default or a range::

    @dataclass(frozen=True)
    class SimCLRConfig(TwoViewConfig):
        temperature: float = setting(0.2, "Temperature τ", (0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0))

Fields made with a plain default stay internal: they keep their value and no page shows them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

SETTING = "sslviz.setting"  # the key of a field's metadata that holds its Setting


@dataclass(frozen=True)
class Setting:
    """What a page needs to show one setting: its label, the values a widget offers, help, and a display format."""

    label: str
    options: tuple[Any, ...] = ()  # empty for a bool (a toggle)
    help: str = ""
    format: str = "{}"  # how a value is shown, e.g. "{:.0%}"

    def show(self, value: Any) -> str:
        """``value`` as the widget displays it."""
        return self.format.format(value)


def setting(default: Any, label: str, options: tuple[Any, ...] = (), help: str = "", format: str = "{}") -> Any:
    """A dataclass field with ``default`` that pages expose as a widget labelled ``label`` offering ``options``."""
    if not isinstance(default, bool) and not options:
        raise ValueError(f"{label}: a non-boolean setting needs its options.")
    return dataclasses.field(default=default, metadata={SETTING: Setting(label, tuple(options), help, format)})


def exposed(config_cls: type) -> dict[str, Setting]:
    """The settings of dataclass ``config_cls`` that pages expose, by field name, in declaration order."""
    return {f.name: f.metadata[SETTING] for f in dataclasses.fields(config_cls) if SETTING in f.metadata}


def choices(setting_: Setting, default: Any) -> list[Any]:
    """The widget's values: the declared options plus ``default`` (a per-dataset default may lie between them), sorted."""
    if not setting_.options:
        return [True, False]
    values = list(dict.fromkeys([*setting_.options, default]))
    try:
        return sorted(values)
    except TypeError:  # mixed types: keep the declared order
        return values
