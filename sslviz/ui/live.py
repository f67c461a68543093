"""Live training widgets: Train/Stop controls and a polling fragment that redraws a job.

The job object lives in ``st.session_state`` (so each browser session has its own) and is
advanced by a background thread (``sslviz.jobs``). Reruns caused by other widgets only
re-render it; they never restart or kill it.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import streamlit as st

from sslviz import bundles, checkpoints, environment, jobs, recipes, serving
from sslviz.jobs import Job, JobRunner, JobView

POLL_SECONDS = 1.0


@st.cache_resource(show_spinner=False, max_entries=8)
def warm_up(dataset: str, seed: int) -> threading.Thread | None:
    """Once per server and (dataset, seed): :func:`sslviz.recipes.warm_up` in a background thread, started after the page
    is drawn, so the first Train press finds torch's optimiser imported and the baselines cached (or being computed).

    Not where runs train on a cluster (the work would be done in this process, the runs' own elsewhere), nor with
    ``SSLVIZ_WARM_UP=0`` (the test suite's setting: its servers would each spend seconds of CPU on it).
    """
    if not isinstance(jobs.RUNNER, JobRunner) or not environment.switch("SSLVIZ_WARM_UP", True):
        return None
    thread = threading.Thread(target=_warm_up, args=(dataset, seed), name=f"sslviz-warm-up-{dataset}-{seed}", daemon=True)
    thread.start()
    return thread


def _warm_up(dataset: str, seed: int) -> None:
    # At a lower priority: a Train pressed while it computes gets the cores (its first live step waited up to 2.8 s).
    serving.lower_thread_priority()
    try:
        recipes.warm_up(dataset, seed)
    except Exception:  # only a head start: the first run does the same work itself, and says what fails there
        pass


def current_job(key: str) -> Job | None:
    """The job this session started under ``key``, if any.

    A shared job (a shipped model being loaded for every session that asked) is followed while it
    runs and replaced by this session's own copy once it has finished.
    """
    job = st.session_state.get(f"{key}.job")
    if job is not None and st.session_state.get(f"{key}.shared") and not job.view().active:
        job = st.session_state[f"{key}.job"] = jobs.copy_finished(job)
        st.session_state[f"{key}.shared"] = False
    return job


def active_job(key: str) -> Job | None:
    """This session's job under ``key`` while it is queued or running, else None."""
    job = current_job(key)
    return job if job is not None and job.view().active else None


def is_active(key: str) -> bool:
    """Whether this session's job under ``key`` is queued or running."""
    return active_job(key) is not None


def start(key: str, target: Callable[[Job], str | None], paused: bool = False) -> Job:
    """Submit ``target`` as this session's job under ``key`` (replacing a finished one); ``paused``: it waits for Step.

    One run per session and key: while the session's job is still queued or running, that job is returned and nothing
    is submitted, so a second run can never leave the first one training unwatched.
    """
    if (running := active_job(key)) is not None:
        return running
    job = jobs.RUNNER.submit(target, name=key, paused=paused)
    st.session_state[f"{key}.job"], st.session_state[f"{key}.shared"] = job, False
    if not paused:
        _await_first_step(job)
    return job


FIRST_STEP_WAIT_SECONDS = 1.5  # a started run's first step is usually in within 0.5 s on 2 cores (data cached, imports done)


def _await_first_step(job: Job) -> None:
    """Hold the rerun that follows Train until the run's first step is in, so that this rerun draws it (not the next poll,
    up to a second later); at most FIRST_STEP_WAIT_SECONDS, and not for a run that waits in the queue."""
    begun = time.monotonic()
    while (waited := time.monotonic() - begun) < FIRST_STEP_WAIT_SECONDS:
        view = job.view()
        if view.history or not view.active or (view.status == "queued" and waited > 0.2):
            return
        time.sleep(0.02)


STEP_WAIT_SECONDS = 10.0  # how long a Step click waits for its step before the page redraws (a step takes ~0.1 s on 2 cores)


def _next_seed(key: str) -> None:
    """The "New seed" button's callback: the sidebar's seed goes up by one, and the page starts the run on its rerun.

    Not while this session's run trains: the rerun that started it drew this button enabled (it is drawn before the run
    starts), and Streamlit runs a callback before the script could draw the button disabled.
    """
    if is_active(key):
        return
    st.session_state["global.seed"] = (int(st.session_state.get("global.seed", 0)) + 1) % 10_001
    st.session_state[f"{key}.start_pending"] = True


def train_button(key: str, make_target: Callable[[], Callable[[Job], str | None]], label: str = "Train live",
                 pretrained: tuple[str, str, dict[str, Any]] | None = None, steps: bool = False) -> None:
    """A Train button; starts a job from ``make_target()`` unless one is already active.

    ``pretrained=(method, dataset, experiment_job options)`` adds a "Use pretrained" button beside it that
    shows the shipped checkpoint with the same visuals as a live run (see :func:`use_pretrained`).
    ``steps`` adds "Step" (start paused and take one optimiser step; the run's Step button takes the next ones)
    and "New seed" (the same run with the sidebar's next seed). Train again with the same settings is the same run.
    """
    active = is_active(key)
    cols = st.columns([1, 1, 1, 1, 2]) if pretrained or steps else [st]
    if cols[0].button(label, key=f"{key}.train", type="primary", disabled=active,
                      help="Runs in the background: you can keep using the page. Same settings and seed: the same run again (on the CPU)."):
        start(key, make_target())
    if steps:
        if cols[1].button("Step", key=f"{key}.step_start", disabled=active, icon=":material/skip_next:",
                          help="Start paused and take one optimiser step; then Step again, or Resume."):
            _take_steps(start(key, make_target(), paused=True))
        cols[2].button("New seed", key=f"{key}.new_seed", disabled=active, on_click=_next_seed, args=(key,), icon=":material/casino:",
                       help="Train again with the sidebar's next seed: another initialisation, order of batches and augmentations.")
        if st.session_state.pop(f"{key}.start_pending", False) and not active:
            start(key, make_target())
    if pretrained:
        use_pretrained(key, *pretrained, container=cols[3 if steps else 1])
        import_run(key, pretrained[0], pretrained[2])


def _take_steps(job: Job, n: int = 1) -> None:
    """Let the paused ``job`` take ``n`` steps and wait (briefly) until it has, so the redraw shows them."""
    job.gate.step(n)
    waited = 0.0
    while waited < STEP_WAIT_SECONDS and job.view().active and not job.gate.settled(0.1):
        waited += 0.1


@st.cache_data(ttl=60, show_spinner=False)
def _manifest() -> dict[str, dict[str, Any]]:
    return checkpoints.read_manifest()


@st.cache_resource(show_spinner=False, max_entries=32)
def _pretrained_job(method: str, dataset: str, seed: int, sha: str, options: tuple) -> Job:
    """One job per server that loads and scores a shipped model, under the runner's watchdog; sessions share it.

    ``sha`` keys the cache: a regenerated checkpoint is loaded afresh.
    """
    opts = dict(options)
    source = recipes.pretrained_source(method, dataset, opts.get("few_labels", recipes.FEW_LABELS))
    return jobs.RUNNER.submit(recipes.experiment_job(method, dataset, 0, seed, "cpu", loaded=source, **opts), f"pretrained {method}")


def shipped(dataset: str) -> dict[str, dict[str, Any]]:
    """Manifest entries of the checkpoints shipped for ``dataset``, by method name."""
    return {key.split("/")[0]: entry for key, entry in _manifest().items() if key.split("/")[1] == dataset}


@st.cache_resource(show_spinner="Loading the pretrained model...", max_entries=32)
def _pretrained_model(method: str, dataset: str, sha: str) -> Any:
    return checkpoints.load(checkpoints.MODELS / _manifest()[f"{method}/{dataset}"]["file"], sha, method, dataset)[0]


def pretrained_model(method: str, dataset: str) -> Any:
    """The shipped model of ``method`` on ``dataset`` (loaded once per server; shared read-only)."""
    return _pretrained_model(method, dataset, shipped(dataset)[method]["sha256"])


def use_pretrained(key: str, method: str, dataset: str, options: dict[str, Any], container: Any = st) -> None:
    """A "Use pretrained" button: the checkpoint from models/ becomes this session's finished job under ``key``.

    Loading and scoring happen once per server (cached); after that a click shows the result at once.
    The button is disabled, saying why, when no checkpoint exists for ``dataset``.
    """
    entry = _manifest().get(f"{method}/{dataset}")
    if entry is None:
        shipped = sorted(k.split("/")[1] for k in _manifest() if k.startswith(f"{method}/"))
        container.button("Use pretrained", key=f"{key}.pretrained", disabled=True,
                         help=f"No pretrained {method} on {dataset}" + (f"; there is one on {', '.join(shipped)} (sidebar)." if shipped else "."))
        return
    if container.button("Use pretrained", key=f"{key}.pretrained", disabled=is_active(key),
                        help=f"Shows models/{entry['file']}: {entry['steps']} steps, seed {entry['seed']}, default settings — instantly, no training."):
        args = (method, dataset, int(entry["seed"]), entry["sha256"], tuple(sorted(options.items())))
        shared = _pretrained_job(*args)
        if shared.view().status in ("stopped", "failed"):  # cut short (e.g. by the watchdog): try again rather than keep the failure
            _pretrained_job.clear(*args)
            shared = _pretrained_job(*args)
        st.session_state[f"{key}.job"], st.session_state[f"{key}.shared"] = shared, True
        current_job(key)  # already finished: this session's own copy at once


def import_run(key: str, method: str, options: dict[str, Any]) -> None:
    """An "Import a run" uploader: a run bundle (see sslviz.bundles) of ``method`` becomes this session's finished job under ``key``.

    The bundle is checked and restored in the background under the runner's watchdog, like a training
    run, with a progress bar; a refused bundle leaves the session's current run as it was.
    """
    with st.expander("Import a run (zip exported from this page)", expanded=bool(st.session_state.get(f"{key}.importing"))):
        upload = st.file_uploader("Run bundle", type=["zip"], key=f"{key}.import", help="A zip made with “Export run” or `python -m sslviz export`.")
        if f"{key}.importing" in st.session_state:
            _import_status(key)
        if upload is None or st.session_state.get(f"{key}.imported") == upload.file_id:
            return
        st.session_state[f"{key}.imported"] = upload.file_id
        if is_active(key):
            st.info("Wait for the current run to finish (or stop it) before importing one.")
            return
        if upload.size > bundles.MAX_ZIP_BYTES:  # refused before its bytes are copied anywhere
            st.error(f"{upload.name} is {upload.size / 2**20:.0f} MB; a run bundle is at most {bundles.MAX_ZIP_BYTES // 2**20} MB.", icon=":material/error:")
            return
        target = recipes.experiment_job(method, "digits", 0, 0, "cpu", loaded=recipes.bundle_source(upload.getvalue(), upload.name, method), **options)
        st.session_state[f"{key}.importing"] = {"job": jobs.RUNNER.submit(target, name=f"{key}.import"), "name": upload.name, "applied": False}
        _import_status(key)


def _import_status(key: str) -> None:
    """The import's progress; once it ends, the restored run becomes the session's job, or the refusal is shown."""
    importing = st.session_state[f"{key}.importing"]
    job, name = importing["job"], importing["name"]
    polling = job.view().active

    @st.fragment(run_every=POLL_SECONDS if polling else None)
    def status() -> None:
        view = job.view()
        if view.active:
            st.progress(float(view.state.get("progress", 0.0)), text=f"Importing {name}: {view.message}")
            return
        if view.status == "done":
            if not importing["applied"]:  # once: a run trained after the import replaces it as usual
                st.session_state[f"{key}.job"], st.session_state[f"{key}.shared"], importing["applied"] = job, False, True
            st.success(f"Restored {name}: {view.message}")
        else:
            st.error(view.message, icon=":material/error:")
        if polling:
            st.rerun()  # the import just ended: one full rerun shows the restored run

    status()


def export_button(key: str, view: JobView) -> None:
    """A download button for the finished run's bundle (built only when clicked)."""
    model, summary = view.state.get("model"), view.state.get("summary")
    if model is None or not summary or "probe_acc" not in summary:
        return

    def build() -> bytes:
        return bundles.export(bundles.from_record(summary, model, view.history, summary["message"]))

    st.download_button("Export run", build, file_name=f"sslviz-{summary['method']}-{summary['dataset']}-seed{summary['seed']}.zip", mime="application/zip",
                       key=f"{key}.export", on_click="ignore", icon=":material/download:",
                       help="A zip with config.json, metrics.csv (every step), the weights (safetensors), the test embeddings (npy) and the figures as HTML.")


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
            cols = st.columns([1, 1, 1, 4])
            label = "Cancel" if view.status == "queued" else "Stop training"
            if st.session_state.get(f"{key}.shared"):
                cols[0].caption("Shared with everyone loading this model.")
            elif cols[0].button(label, key=f"{key}.stop", help="Stops after the current step; results so far are kept."):
                job.stop()
            if view.status == "queued":
                cols[3].info(queue_text(job, view))
            elif view.state.get("steppable") and not st.session_state.get(f"{key}.shared"):
                step_controls(key, job, view, cols)
            else:
                cols[3].progress(float(view.state.get("progress", 0.0)), text=view.message)
            if view.status == "running" and (pace := pace_text(view.state.get("pace"))):
                st.info(pace, icon=":material/groups:")
        elif view.status == "failed":
            st.error(view.message, icon=":material/error:")
        elif view.status == "stopped":
            st.warning(view.message or "Stopped.")
        else:
            st.success(view.message or "Done.")
        render(view)
        if not view.active:
            export_button(key, view)
        if polling and not view.active:
            st.rerun()  # the job just ended: one full rerun stops the polling

    live()


def queue_text(job: Job, view: JobView) -> str:
    """Where a waiting run stands: its place in the queue, how many train at once, and when it should start (when known)."""
    runner = jobs.RUNNER
    text = f"Waiting for a free trainer — position {view.queue_position} in the queue ({runner.where} trains {runner.max_concurrent} run(s) at a time)."
    start = runner.expected_start(job)
    return text + (f" Expected to start in about {start:.0f} s (estimated from how long the last runs here took)." if start is not None else "")


def pace_text(pace: dict[str, Any] | None) -> str:
    """What sharing the server does to this run (sslviz.pacing): its promised steps and the expected time; "" when it trains alone."""
    if not pace or pace["runs"] <= 1:
        return ""
    slower = pace["expected_seconds"] > 1.05 * pace["seconds"]
    shared = f"{pace['runs']} runs share this server's {pace['cores']} cores" + (
        f", so training takes about {pace['expected_seconds']:.0f} s instead of {pace['seconds']:g} s" if slower else "")  # no time promised at a core each: other work on the machine may still slow it
    if pace["promised"] is None:
        return shared + ": these settings have not trained alone here yet, so this run gets no promise of steps and may end with fewer than usual."
    return shared + f": this run is promised the {pace['promised']} steps that {pace['seconds']:g} s buy on an idle server, and trains until it has them."


def step_controls(key: str, job: Job, view: JobView, cols: list) -> None:
    """Pause / Resume and Step for a running training loop, and what the last steps did while it is paused."""
    paused = job.gate.paused
    if cols[1].button("Resume" if paused else "Pause", key=f"{key}.pause", icon=":material/play_arrow:" if paused else ":material/pause:",
                      help="Resume: train on within the budget." if paused else "Hold the run before its next step (paused time is not budget time)."):
        if paused:
            job.gate.resume()
        else:
            job.gate.pause()
            job.gate.settled(STEP_WAIT_SECONDS)
        st.rerun(scope="app")  # the whole page (e.g. the InfoNCE explorer) shows the step it is paused at
    if cols[2].button("Step", key=f"{key}.step", disabled=not paused, icon=":material/skip_next:",
                      help="One optimiser step; its loss and similarities appear below." if paused else "Pause first, then step one optimiser step at a time."):
        _take_steps(job)
        st.rerun(scope="app")
    if not paused:
        cols[3].progress(float(view.state.get("progress", 0.0)), text=view.message)
        return
    rows = view.history[-8:]
    if not rows:
        cols[3].info("Paused before the first step: press Step.")
        return
    last = rows[-1]
    cols[3].info(f"Paused after step {int(last['step'])}: loss {last['loss']:.4f}. Step takes one more optimiser step; Resume trains on.")
    shown = [c for c in ("step", "loss", "positive_sim", "negative_sim", "pair_acc") if c in last]
    st.dataframe([{c: row.get(c) for c in shown} for row in rows], key=f"{key}.steps_table", hide_index=True,
                 column_config={c: st.column_config.NumberColumn(format="%d" if c == "step" else "%.4f") for c in shown})


def comparison(key: str, runs: dict[str, tuple[str, dict]], dataset: str, seconds: int, seed: int, device: str,
               render: Callable[[JobView], None], label: str = "Compare", empty: str = "Pick at least one method.", min_steps: int = 0) -> None:
    """A button that trains ``runs`` (label -> (method, config overrides)) one after another, and the comparison's view.

    With nothing picked the button is replaced by ``empty``, so it is never a dead button. ``min_steps``: each run's floor.
    """
    if not runs:
        st.info(empty)
    else:
        train_button(key, lambda: recipes.comparison_job(runs, dataset, seconds, seed, device, min_steps), label=label)
    job_view(key, render)
