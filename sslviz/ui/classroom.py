"""The lecturer's controls: class links that hide or lock controls, and presenter mode.

Class links follow TensorFlow Playground's convention: ``<name>_hide=true`` leaves the control
whose link parameter is ``name`` out of the page (its value, from the link or its default, still
applies), and ``lock=1`` draws the remaining controls disabled, so students run exactly the
lecturer's setup. ``present=1`` is presenter mode: large type for a projector, explanations
folded away, the sidebar collapsed.

A lock keeps the page's controls fixed; it is not access control (a student can edit the
address bar), which a classroom does not need.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

import streamlit as st

HIDE, LOCK, PRESENT = "_hide", "lock", "present"
CONTROLS = "link.controls"  # this script run's link-carried controls: name -> label (for the teacher panel)

# Captions are where many key facts sit; Streamlit draws them as 60%-opaque grey (3.9:1), too faint on a projector.
# In the text's own colour at 85% they are 8.0:1 on the light theme and 13:1 on the dark one.
BASE_CSS = ('[data-testid="stCaptionContainer"] { opacity: 0.85 !important; color: inherit !important; } '
            '[data-testid="stCaptionContainer"] p { color: inherit !important; }')
PRESENTER_CSS = """
html { font-size: 22px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.2rem; line-height: 1.5; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 1.05rem !important; }
h1 { font-size: 2.6rem !important; } h2 { font-size: 2rem !important; } h3 { font-size: 1.6rem !important; }
.js-plotly-plot .main-svg .gtitle { font-size: 22px !important; }
.js-plotly-plot .main-svg .xtick text, .js-plotly-plot .main-svg .ytick text, .js-plotly-plot .main-svg .legendtext { font-size: 16px !important; }
.js-plotly-plot .main-svg .g-xtitle text, .js-plotly-plot .main-svg .g-ytitle text { font-size: 18px !important; }
[data-testid="stBaseButton-primary"], [data-testid="stBaseButton-secondary"] { font-size: 1.1rem; padding: 0.6rem 1.2rem; }
"""


def presenting() -> bool:
    """Presenter mode is on: the link says ``present=1`` or the sidebar's toggle was switched on."""
    if "global.present" in st.session_state:
        return bool(st.session_state["global.present"])
    return st.query_params.get(PRESENT) == "1"


# A displayed formula wider than its column scrolls sideways; a keyboard user reaches it with Tab (axe's
# scrollable-region-focusable). KaTeX is drawn after this script runs and again on every rerun, so an observer marks each one.
FORMULA_JS = """
if (!window.sslvizFormulas) {
  window.sslvizFormulas = true;
  const mark = () => document.querySelectorAll('.katex-display:not([tabindex])').forEach(e => {
    e.tabIndex = 0; e.setAttribute('role', 'region'); e.setAttribute('aria-label', 'formula');
  });
  mark();
  new MutationObserver(mark).observe(document.body, {childList: true, subtree: true});
}
"""


def style() -> None:
    """The app's own CSS (darker captions; presenter mode's type sizes) and formulas reachable by keyboard. Call once per script run, before the page."""
    st.html(f"<style>{BASE_CSS}{PRESENTER_CSS if presenting() else ''}</style><script>{FORMULA_JS}</script>", unsafe_allow_javascript=True)


def presenter_toggle() -> None:
    """The sidebar's presenter-mode switch, carried in the URL as ``present=1``."""
    st.session_state.setdefault("global.present", st.query_params.get(PRESENT) == "1")
    on = st.toggle("Presenter mode", key="global.present", help="Large type for a projector, explanations folded away. A link with present=1 opens this way.",
                   disabled=locked())
    if on:
        st.query_params[PRESENT] = "1"
    else:
        st.query_params.pop(PRESENT, None)


def _link_state() -> tuple[frozenset[str], bool]:
    """The class link's hidden controls and lock: read from the URL once per session, then kept (start_run writes them back)."""
    s = st.session_state
    if "link.hidden" not in s:
        s["link.hidden"] = frozenset(k[: -len(HIDE)] for k in st.query_params if k.endswith(HIDE) and st.query_params[k] == "true")
        s["link.locked"] = st.query_params.get(LOCK) == "1"
    return s["link.hidden"], s["link.locked"]


def hidden(name: str) -> bool:
    """The class link leaves the control with link parameter ``name`` out."""
    return name in _link_state()[0]


def locked() -> bool:
    """The class link fixes every control it shows (``lock=1``)."""
    return _link_state()[1]


def from_class_link() -> bool:
    """This session was opened from a class link (something hidden or locked)."""
    names, lock = _link_state()
    return bool(names) or lock


def start_run() -> None:
    """Forget the previous script run's list of controls and keep the address bar a link to this class setup (call once per
    run, before any control is drawn)."""
    names, lock = _link_state()
    for name in names:
        st.query_params[name + HIDE] = "true"
    if lock:
        st.query_params[LOCK] = "1"
    st.session_state[CONTROLS] = {}


def control(name: str, label: str, draw: Callable[..., Any], *args: Any, default: Any = None, **kwargs: Any) -> Any:
    """Draw one link-carried widget, ``draw(label, *args, **kwargs)`` (e.g. ``st.slider`` or a column's), as the class link says.

    Hidden: nothing is drawn and the value is the widget's session state (a link's value), else ``default``.
    Locked: drawn disabled. Either way the control is listed for the teacher panel under ``name``.
    """
    st.session_state.setdefault(CONTROLS, {})[name] = label
    if hidden(name):
        return st.session_state.get(kwargs.get("key"), default)
    if locked():
        kwargs["disabled"] = True
    return draw(label, *args, **kwargs)


def class_link(shown: list[str], lock: bool, present: bool) -> str:
    """The address of this page with its current settings, hiding every listed control not in ``shown``."""
    params = {k: v for k, v in st.query_params.to_dict().items() if not k.endswith(HIDE) and k not in (LOCK, PRESENT)}
    controls = [name for name in st.session_state.get(CONTROLS, {}) if name in params]
    params.update({f"{name}{HIDE}": "true" for name in controls if name not in shown})
    if lock:
        params[LOCK] = "1"
    if present:
        params[PRESENT] = "1"
    base = (st.context.url or "").split("?")[0]
    return f"{base}?{urlencode(params)}"


def teacher_panel() -> None:
    """The sidebar's "Make a link for your class": tick the controls students see, lock the rest, copy the link.

    A session opened from a class link gets a note instead (students do not build links).
    """
    if from_class_link():
        st.sidebar.caption(":material/school: Opened from your lecturer's link: some settings are fixed or left out on purpose.")
        return
    # The controls a link can carry: those whose value is in the address (a hidden one must keep the lecturer's value).
    controls = {name: label for name, label in st.session_state.get(CONTROLS, {}).items() if name in st.query_params}
    with st.sidebar.expander(":material/share: Make a link for your class"):
        if not controls:
            st.caption("This page has no settings to share; the link opens it as it is.")
        page = "|".join(controls)
        shown = st.multiselect("Controls students see", list(controls), default=list(controls), format_func=lambda n: controls[n],
                               key=f"link.shown.{page}", help="Unticked controls are left out of the students' page; their current values still apply.")
        lock = st.toggle("Students cannot change the rest", key="link.lock", help="lock=1: the controls they see are shown disabled.")
        present = st.toggle("Open in presenter mode", key="link.present", value=presenting())
        url = class_link(shown, lock, present)
        st.code(url, language=None, wrap_lines=True)
        st.caption("Copy it with the button at its top right. It opens this page with these settings; Train still works.")
