"""The template every page follows: goals, formula, the real code, experiments, a quiz."""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import streamlit as st


def header(title: str, intro: str, goals: Sequence[str]) -> None:
    """Title, a one-paragraph introduction and the learning goals."""
    st.title(title)
    st.markdown(intro)
    with st.container(border=True):
        st.markdown("**After this page you can**\n" + "\n".join(f"- {g}" for g in goals))


def formula(latex: str, explanation: str = "") -> None:
    """A displayed formula with a plain-words explanation under it."""
    st.latex(latex)
    if explanation:
        st.caption(explanation)


def show_code(*objects: Callable | type, label: str = "Show the code") -> None:
    """An expander with the real source of the functions/classes in use (inspect.getsource)."""
    with st.expander(label):
        for obj in objects:
            st.markdown(f"`{obj.__module__}.{obj.__qualname__}`")
            st.code(inspect.getsource(obj), language="python")


def try_this(items: Sequence[str]) -> None:
    """A short list of experiments to run on the page."""
    st.subheader("Try this")
    st.markdown("\n".join(f"{i}. {item}" for i, item in enumerate(items, 1)))


def knowledge_check(key: str, question: str, options: Sequence[str], answer: int, explanation: str) -> None:
    """One multiple-choice question with immediate feedback."""
    st.subheader("Check your understanding")
    choice = st.radio(question, options, index=None, key=f"{key}.quiz")
    if choice is None:
        return
    if options.index(choice) == answer:
        st.success(f"Correct. {explanation}")
    else:
        st.error(f"Not quite. {explanation}")
