"""The template every page follows: goals, formula, the real code, experiments, a quiz."""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import streamlit as st

from sslviz.ui.classroom import presenting


def header(title: str, intro: str, goals: Sequence[str]) -> None:
    """Title, a one-paragraph introduction and the learning goals."""
    st.title(title)
    goals_md = "\n".join(f"- {g}" for g in goals)
    if presenting():  # on a projector the lecturer says this; the slide stays uncluttered
        with st.expander("Introduction and learning goals"):
            st.markdown(intro)
            st.markdown("**After this page you can**\n" + goals_md)
        return
    st.markdown(intro)
    with st.container(border=True):
        st.markdown("**After this page you can**\n" + goals_md)


def formula(latex: str, explanation: str = "") -> None:
    """A displayed formula with a plain-words explanation under it."""
    st.latex(latex)
    if explanation and presenting():
        with st.expander("In words"):
            st.caption(explanation)
    elif explanation:
        st.caption(explanation)


def show_code(*objects: Callable | type, label: str = "Show the code") -> None:
    """An expander with the real source of the functions/classes in use (inspect.getsource)."""
    with st.expander(label):
        for obj in objects:
            st.markdown(f"`{obj.__module__}.{obj.__qualname__}`")
            st.code(inspect.getsource(obj), language="python")


def try_this(items: Sequence[str]) -> None:
    """A short list of experiments to run on the page."""
    text = "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))
    if presenting():
        with st.expander("Try this"):
            st.markdown(text)
        return
    st.subheader("Try this")
    st.markdown(text)


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


def image(target, picture, caption: str | Sequence[str] | None = None, *, alt: str | Sequence[str] | None = None, **kwargs):
    """``target.image`` with a text alternative (WCAG 1.1.1, axe's ``image-alt``): ``alt``, or the caption when none is given.

    Streamlit draws a caption under the picture but leaves the ``<img>`` without ``alt``, so a screen reader would say
    nothing; an image with neither is refused here rather than shipped silent.
    """
    if alt is None and caption is None:
        raise ValueError("an image needs a caption or an alt text for readers who cannot see it")
    return target.image(picture, caption=caption, alt=caption if alt is None else alt, **kwargs)
