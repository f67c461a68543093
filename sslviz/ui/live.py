"""Live training widgets: Train/Stop controls and a polling fragment that redraws a job.

The job object lives in ``st.session_state`` (so each browser session has its own) and is
advanced by a background thread (``sslviz.jobs``). Reruns caused by other widgets only
re-render it; they never restart or kill it.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from sslviz.jobs import RUNNER, Job, JobView

POLL_SECONDS = 1.0


def current_job(key: str) -> Job | None:
    """The job this session started under ``key``, if any."""
    return st.session_state.get(f"{key}.job")


def is_active(key: str) -> bool:
    """Whether this session's job under ``key`` is queued or running."""
    job = current_job(key)
    return job is not None and job.view().active


def start(key: str, target: Callable[[Job], str | None]) -> None:
    """Submit ``target`` as this session's job under ``key`` (replacing a finished one)."""
    st.session_state[f"{key}.job"] = RUNNER.submit(target, name=key)


def train_button(key: str, make_target: Callable[[], Callable[[Job], str | None]], label: str = "Train live") -> None:
    """A Train button; starts a job from ``make_target()`` unless one is already active."""
    if st.button(label, key=f"{key}.train", type="primary", disabled=is_active(key), help="Runs in the background: you can keep using the page."):
        start(key, make_target())


def job_view(key: str, render: Callable[[JobView], None]) -> None:
    """Render the session's job; while it is active, refresh every POLL_SECONDS with a Stop button."""
    job = current_job(key)
    if job is None:
        return
    polling = job.view().active

    @st.fragment(run_every=POLL_SECONDS if polling else None)
    def live() -> None:
        view = job.view()
        if view.active:
            cols = st.columns([1, 4])
            label = "Cancel" if view.status == "queued" else "Stop training"
            if cols[0].button(label, key=f"{key}.stop", help="Stops after the current step; results so far are kept."):
                job.stop()
            if view.status == "queued":
                cols[1].info(f"Waiting for a free trainer — position {view.queue_position} in the queue (the server trains {RUNNER.max_concurrent} run(s) at a time).")
            else:
                cols[1].progress(float(view.state.get("progress", 0.0)), text=view.message)
        elif view.status == "failed":
            st.error(view.message, icon=":material/error:")
        elif view.status == "stopped":
            st.warning(view.message or "Stopped.")
        else:
            st.success(view.message or "Done.")
        render(view)
        if polling and not view.active:
            st.rerun()  # the job just ended: one full rerun stops the polling

    live()
