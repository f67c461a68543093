"""The Collapse page's views: the mechanisms table, a mechanism's normal-vs-broken runs, and what each new method shows inside.

Layout only: every number comes from a job's history and state, every verdict from ``diagnostics.collapse_kind``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from sslviz import data, diagnostics, jobs, methods, viz
from sslviz.ui import page, settings

K = "collapse"
VERDICTS = {"total": "total collapse", "dimensional": "dimensional collapse", None: "healthy"}
# Charts a run gets when its method logs these metrics: (metrics, title).
METHOD_CHARTS = (
    (("teacher_entropy", "kl"), "DINO: teacher entropy (log K = uniform, 0 = one-hot) and KL(teacher ‖ student), nats"),
    (("on_diagonal", "off_diagonal"), "Barlow Twins: mean diagonal (target 1) and mean |off-diagonal| (target 0) of C"),
    (("invariance", "variance", "covariance"), "VICReg: the three terms (unweighted)"),
    (("prototypes_used", "assignment_entropy"), "SwAV: prototypes in use in the batch and the entropy of their shares"),
)


def mechanism_table(dataset: str) -> pd.DataFrame:
    """One row per mechanism: what it does, the methods it protects and the one-click ways to remove it (all from the registry)."""
    rows = {}
    for mechanism, names in methods.by_mechanism(dataset).items():
        rows[mechanism] = {"how it prevents collapse": methods.COLLAPSE_MECHANISMS[mechanism],
                           "methods": ", ".join(methods.title(n) for n in names),
                           "break it": "; ".join(label for n in names for label in methods.spec(n).breaks)}
    return pd.DataFrame(rows).T


def banner(history: list[dict], dim: int) -> None:
    """The detector's verdict on a run's last steps, as a banner (nothing when healthy)."""
    kind = diagnostics.collapse_kind(history, dim)
    if kind is None:
        return
    last = history[-1]
    dim = int(last.get("embedding_dim") or dim)
    spread = f"std × √d = {diagnostics.spread(last, dim):.3f} (≈ 1 when spread over the sphere), effective rank {last['effective_rank']:.1f} of {dim}"
    if kind == "total" and last.get("output_entropy_share", 0) > diagnostics.COLLAPSE_UNIFORM:
        st.error(f"**Collapse detected** (total, uniform output) at step {int(last['step'])}: the output distribution is flat for every image — "
                 f"its entropy is {last['output_entropy_share']:.1%} of the maximum, log K. Every image gets the same (uniform) answer.",
                 icon=":material/warning:")
    elif kind == "total" and "raw_std" in last and diagnostics.spread(last, dim) >= diagnostics.COLLAPSE_STD_RATIO:
        st.error(f"**Collapse detected** (total) at step {int(last['step'])}: the raw embedding has shrunk towards one point — its std is "
                 f"{last['raw_std']:.4f}, from {next(r['raw_std'] for r in history if 'raw_std' in r):.4f} at the start. Normalised, the tiny "
                 f"differences that are left look spread ({spread}), but they are noise.", icon=":material/warning:")
    elif kind == "total":
        st.error(f"**Collapse detected** (total) at step {int(last['step'])}: {spread}. Every image maps to nearly the same point, "
                 "so the features carry no information.", icon=":material/warning:")
    else:
        st.warning(f"**Dimensional collapse** at step {int(last['step'])}: {spread}. The embeddings still differ, but along only a "
                   f"few directions (fewer than {diagnostics.DIMENSIONAL_RANK_SHARE:.0%} of the {dim}).", icon=":material/warning:")


def lesson_steps(label: str) -> int | None:
    """Steps the break-it ``label`` needs before its collapse shows (its registry entry's measured ``break_steps``); None for other runs."""
    return next((spec.break_steps for spec in methods.REGISTRY.values() if label in spec.breaks and spec.break_steps), None)


def too_short(label: str, history: list[dict], dim: int = 64) -> str | None:
    """Said of a finished break-it run that stopped before its collapse could show; None when it showed or the run was long enough."""
    needed, ran = lesson_steps(label), int(history[-1]["step"]) if history else 0
    if needed is None or not history or diagnostics.collapse_kind(history, dim) is not None or ran >= needed:
        return None
    return (f"{label}: only {ran} steps ran; this collapse needs about {needed} (measured in tests/test_collapse.py), so no verdict "
            f"yet. Run it again with a longer budget, or from the Contrastive page's break-it button, which runs at least {needed} steps.")


def _rows(history: list[dict], label: str) -> list[dict]:
    return [r for r in history if r.get("method") == label]


def verdict_table(view: jobs.JobView) -> pd.DataFrame:
    """Per run of a comparison: the detector's verdict, final spread and rank, and (when finished) kNN and probe accuracy."""
    results = view.state.get("results", {})
    table = {}
    for label in dict.fromkeys(r["method"] for r in view.history):
        rows = _rows(view.history, label)
        last, result = rows[-1], results.get(label, {})
        table[label] = {"verdict": VERDICTS[diagnostics.collapse_kind(rows)], "steps": int(last["step"]),
                        "std × √d": diagnostics.spread(last), "effective rank": last["effective_rank"], "of d": int(last["embedding_dim"]),
                        "kNN": result.get("knn_acc", float("nan")), "linear probe": result.get("probe_acc", float("nan"))}
    return pd.DataFrame(table).T


def render_runs(view: jobs.JobView) -> None:
    """A mechanism's runs (normal and broken) side by side: health charts, the method's own signals, verdicts and accuracies."""
    if not view.history:
        return
    h = view.history
    spread = [{**r, "std × √d": diagnostics.spread(r)} for r in h]
    key = f"{K}.{view.id}"
    c1, c2 = st.columns(2)
    c1.plotly_chart(viz.grouped_lines(spread, "method", "std × √d", "Spread of the normalised embedding, std × √d (0 = total collapse)"), key=f"{key}.std")
    c2.plotly_chart(viz.grouped_lines(h, "method", "effective_rank", "Effective rank (1 = a line; low = dimensional collapse)"), key=f"{key}.rank")
    c1, c2 = st.columns(2)
    c1.plotly_chart(viz.grouped_lines(h, "method", "uniformity", "Uniformity (lower = more spread; 0 = one point)"), key=f"{key}.uni")
    c2.plotly_chart(viz.grouped_lines(h, "method", "alignment", "Alignment (lower = views closer; 0 also when collapsed)"), key=f"{key}.align")
    for metrics, title in METHOD_CHARTS:
        present = [m for m in metrics if any(m in r for r in h)]
        if present:
            cols = st.columns(len(present))
            for col, metric in zip(cols, present):
                col.plotly_chart(viz.grouped_lines([r for r in h if metric in r], "method", metric, f"{title}: {viz.metric_label(metric)}"), key=f"{key}.{metric}")
    table = verdict_table(view)
    st.dataframe(table.style.format({"std × √d": "{:.3f}", "effective rank": "{:.1f}", "kNN": "{:.3f}", "linear probe": "{:.3f}"}, na_rep="…"),
                 key=f"{key}.table")
    results = view.state.get("results", {})
    finished = [r for r in results.values() if "knn_acc" in r]
    if finished:
        base = finished[0]
        st.caption(f"Random-init network, same encoder and protocol: kNN {base['random_init_knn_acc']:.3f}, linear probe {base['random_init_probe_acc']:.3f}. "
                   f"Same budget ({base['seconds']:g} s), seed {base['seed']} and dataset for every run; batch sizes: "
                   + ", ".join(f"{label} {r['train_config']['batch_size']}" for label, r in results.items() if "train_config" in r) + ".")
        st.markdown(verdict_sentence(table))
    for label, r in results.items():
        if "knn_acc" not in r:
            st.warning(f"{label}: {r.get('message', 'did not finish')}")
        elif (short := too_short(label, _rows(h, label))) is not None:
            st.info(short, icon=":material/hourglass_empty:")


def verdict_sentence(table: pd.DataFrame) -> str:
    """What these runs showed, from their verdicts: which collapsed, how, and which did not."""
    parts = []
    for kind in ("total collapse", "dimensional collapse", "healthy"):
        labels = [label for label, row in table.iterrows() if row["verdict"] == kind]
        if labels:
            parts.append(f"**{kind}**: {', '.join(labels)}")
    return "In these runs — " + "; ".join(parts) + "."


def look_inside(view: jobs.JobView, dataset: str) -> None:
    """What a single run of a new method shows inside: Barlow Twins' matrix, DINO's attention, SwAV's prototypes; plus the health charts."""
    h = view.history
    dim = view.state.get("config", {}).get("proj_dim", 64)
    if h:
        banner(h, dim)
    snap = view.state.get("snapshot") or {}
    if "cross_correlation" in snap:
        c = snap["cross_correlation"].numpy()
        off = c[~np.eye(len(c), dtype=bool)]
        st.plotly_chart(viz.correlation_heatmap(c, f"Cross-correlation C of the two views' embeddings, step {snap.get('step', '?')} (target: the identity)"),
                        key=f"{K}.corr")
        st.caption(f"Text summary: mean diagonal {np.diag(c).mean():.2f} (target 1), mean |off-diagonal| {np.abs(off).mean():.3f} (target 0).")
    if "attention" in view.state:
        attention_view(view.state, dataset)
    if "prototype_assignments" in view.state:
        gallery(view.state)
    summary = view.state.get("summary")
    if summary:
        st.caption(f"kNN {summary['knn_acc']:.3f} (random init {summary['random_init_knn_acc']:.3f}), linear probe {summary['probe_acc']:.3f} "
                   f"(random init {summary['random_init_probe_acc']:.3f}) on held-out {settings.dataset_title(summary['dataset'])}, {summary['steps']} steps, seed {summary['seed']}.")


def attention_view(state: dict, dataset: str) -> None:
    """DINO's [CLS] attention next to each image and (where the renderer knows it) the object's mask."""
    images, maps = state["attention_images"], state["attention"]
    test = data.load(dataset, "test", state.get("summary", {}).get("seed", 0))
    masks = data.object_masks(test)
    shown = masks[: len(images)] if masks is not None else None
    page.image(st, viz.tile(viz.attention_rows(images, maps, shown), cols=4, scale=3),
             caption="Each triple: the image, where the [CLS] token looks (last block, mean over heads; bright = most), " + ("the object's pixels." if shown is not None else "."))
    if "attention_on_object" in state:
        st.caption(f"Share of the [CLS] attention on the object's pixels, 500 test images: **{state['attention_on_object']:.3f}** "
                   f"(a uniform map would score the objects' area share, {float(masks[:500].mean()):.3f}). Compare a random-init ViT in benchmarks/RESULTS.md, 'DINO attention'.")


def gallery(state: dict, per_prototype: int = 8, shown: int = 6) -> None:
    """SwAV's prototypes as a gallery: the most used prototypes, each with test images assigned to it."""
    assigned = torch.as_tensor(state["prototype_assignments"])
    images = state["gallery_images"]
    total = state.get("config", {}).get("prototypes", int(assigned.max()) + 1)
    counts = torch.bincount(assigned, minlength=total)
    st.markdown(f"**Prototype gallery** — {int((counts > 0).sum())} of the {total} prototypes hold the {len(assigned)} test images; "
                f"the {shown} largest:")
    for p in counts.argsort(descending=True)[:shown].tolist():
        members = (assigned == p).nonzero().flatten()[:per_prototype]
        page.image(st, viz.tile(images[members], cols=per_prototype, scale=3), caption=f"prototype {p}: {int(counts[p])} images")
