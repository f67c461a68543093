"""Settings a page may expose, declared once on a config dataclass field (its default, label, choices and help).

A config field made with :func:`setting` carries what a widget and a shared link need; pages build
their controls and URL parameters from :func:`exposed` and never restate a default or a range::

    @dataclass(frozen=True)
    class SimCLRConfig(TwoViewConfig):
        temperature: float = setting(0.2, "Temperature τ", (0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0))

Fields made with :func:`internal` stay internal: they keep their value and no page shows them.

Every field declares the values it accepts (:class:`Range`): a setting's range defaults to the span of
its options, an internal field states its own. A config that derives from :class:`Config` checks
every field against its range and type when it is made — before a model allocates anything — so a
forged run bundle or a hand-written link cannot ask for a 100,000-wide encoder.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

SETTING = "sslviz.setting"  # the key of a field's metadata that holds its Setting
VALID = "sslviz.valid"  # the key of a field's metadata that holds its Range


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


@dataclass(frozen=True)
class Range:
    """The values a config field accepts: ``low``..``high`` inclusive for a number, or one of ``choices``.

    A bool field has an empty range (any bool); its type is still checked.
    """

    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    why: str = ""  # the reason for a bound, added to the error message

    def __post_init__(self) -> None:
        if (self.low is None) != (self.high is None) or (self.low is not None and self.low > self.high):
            raise ValueError(f"A range needs low <= high, got {self.low} and {self.high}.")

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the range."""
        if self.choices:
            return value in self.choices
        return self.low is None or self.low <= value <= self.high

    def describe(self) -> str:
        """The range in words, for an error message."""
        if self.choices:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            text = f"between {self.low:g} and {self.high:g}"
        return f"{text} ({self.why})" if self.why else text


def _range(default: Any, valid: Any, options: tuple[Any, ...] = ()) -> Range:
    """``valid`` as a Range: a Range, a (low, high) pair of numbers, a tuple of strings, or None (the span of ``options``)."""
    if isinstance(valid, Range):
        return valid
    if isinstance(default, bool):
        return Range()
    values = tuple(valid) if valid is not None else tuple(options)
    if not values:
        raise ValueError(f"A field with default {default!r} needs its valid values.")
    if all(isinstance(v, str) for v in values):
        return Range(choices=values)
    if valid is not None and len(values) != 2:
        raise ValueError(f"A numeric range is (low, high), got {valid!r}.")
    return Range(low=min(values), high=max(values))


def setting(default: Any, label: str, options: tuple[Any, ...] = (), help: str = "", format: str = "{}", valid: Any = None) -> Any:
    """A dataclass field with ``default`` that pages expose as a widget labelled ``label`` offering ``options``.

    ``valid`` is what a config may hold beyond the widget's options — a (low, high) pair, a tuple of
    strings or a :class:`Range`; by default the span of ``options``.
    """
    if not isinstance(default, bool) and not options:
        raise ValueError(f"{label}: a non-boolean setting needs its options.")
    return dataclasses.field(default=default, metadata={SETTING: Setting(label, tuple(options), help, format),
                                                        VALID: _range(default, valid, tuple(options))})


def internal(default: Any, valid: Any = None) -> Any:
    """A dataclass field with ``default`` that no page exposes; ``valid`` as for :func:`setting` (None only for a bool)."""
    return dataclasses.field(default=default, metadata={VALID: _range(default, valid)})


def valid_range(field: dataclasses.Field) -> Range | None:
    """The declared range of ``field``; None when it has none."""
    return field.metadata.get(VALID)


def unranged(config_cls: type) -> list[str]:
    """The fields of dataclass ``config_cls`` that declare no range (a registered method must have none)."""
    return [f.name for f in dataclasses.fields(config_cls) if VALID not in f.metadata]


@functools.lru_cache(maxsize=None)
def _hints(config_cls: type) -> dict[str, Any]:
    return typing.get_type_hints(config_cls)


def _type_error(hint: Any, value: Any) -> str:
    """What is wrong with the type of ``value`` for annotation ``hint``; "" when nothing is."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return ""
        errors = [_type_error(a, value) for a in args if a is not type(None)]
        return "" if "" in errors else errors[0]
    if hint is bool:
        return "" if isinstance(value, bool) else "a boolean (true or false)"
    if hint is int:
        return "" if isinstance(value, int) and not isinstance(value, bool) else "a whole number"
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "a number"
        return "" if math.isfinite(value) else "a finite number"
    if hint is str:
        return "" if isinstance(value, str) else "a string"
    return ""


def check(config: Any) -> None:
    """Raise ValueError naming the first field of dataclass instance ``config`` whose type or value is out of its range."""
    hints = _hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        label = f.metadata[SETTING].label if SETTING in f.metadata else ""
        name = f"{label.split(' (')[0]} ({f.name})" if label else f.name  # the label's own note in brackets is left out: one pair of brackets
        wrong = _type_error(hints.get(f.name), value)
        if wrong:
            raise ValueError(f"{name} must be {wrong}, got {_short(value)}.")
        valid = f.metadata.get(VALID)
        if valid is not None and value is not None and not valid.contains(value):
            raise ValueError(f"{name} must be {valid.describe()}, got {_short(value)}.")


def _short(value: Any) -> str:
    """``repr(value)``, cut to a readable length (a forged file may hold a megabyte string)."""
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print
        return "a number too large to print"
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Config:
    """Base of every method config: checks each field's type and range when the config is made.

    Subclasses that add cross-field checks call ``super().__post_init__()`` first.
    """

    def __post_init__(self) -> None:
        check(self)


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
