"""The Downstream evaluation page's views of a finished (or running) evaluation job (layout only)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from sslviz import evaluate, jobs, recipes, reduce, viz
from sslviz.ui import settings

K = "down"
KW = f"{K}.weak"


def verdict(summary: list[dict]) -> str:
    """When SSL pays off, in this run's numbers: the best SSL result vs scratch at the fewest and the most labels."""
    scratch_rows = {r["fraction"]: r for r in summary if r["mode"] == evaluate.SCRATCH}
    ssl_rows = [r for r in summary if r["mode"] != evaluate.SCRATCH]
    if not scratch_rows or not ssl_rows:
        return ""
    lines = []
    for fraction in sorted({min(scratch_rows), max(scratch_rows)}):
        best = max((r for r in ssl_rows if r["fraction"] == fraction), key=lambda r: r["mean"], default=None)
        if best is None:
            continue
        s, gap = scratch_rows[fraction], best["mean"] - scratch_rows[fraction]["mean"]
        word = "helps" if gap > 0.02 else ("makes no real difference" if gap > -0.02 else "hurts")
        lines.append(f"- With **{100 * fraction:g}%** of the labels ({s['labels']} images): best SSL = {best['encoder']} · {best['mode']} "
                     f"{best['mean']:.3f} ± {best['std']:.3f} vs from scratch {s['mean']:.3f} ± {s['std']:.3f} → **{gap * 100:+.1f} points**: pre-training {word}.")
    return "\n".join(lines)


@st.cache_data(show_spinner="Projecting the features (t-SNE takes a few seconds)...", max_entries=16)
def projection(job_id: str, encoder: str, how: str, features: np.ndarray) -> np.ndarray:
    return reduce.project_2d(features, how)


def render(view: jobs.JobView) -> None:
    st_ = view.state
    if not st_.get("settings"):
        return
    cfg, recipe = st_["settings"], evaluate.SupervisedConfig()
    st.caption(f"Same for every encoder: the CNN backbone (SmallCNN), {cfg['seconds']} s of pre-training with seed {cfg['seed']}, the label draws "
               f"(seeds {', '.join(map(str, cfg['seeds']))}), {cfg['steps']} supervised steps of batch {recipe.batch_size} (AdamW, lr {recipe.lr:g}; "
               f"fine-tuning moves the pre-trained encoder {1 / evaluate.FINE_TUNE_ENCODER_LR_SCALE:g}× slower than its new head), "
               f"augmentations '{cfg['augment']}', and the test split, which never trains anything. "
               "MAE's encoder is a small ViT, not the CNN.")
    summary = evaluate.summarise(st_.get("rows", []))
    render_efficiency(st_, summary)
    render_leaderboard(st_, summary)
    render_attributes(st_)
    render_features(view)
    render_confusion(st_)


def render_efficiency(st_: dict, summary: list[dict]) -> None:
    """Label-efficiency curves, their table and the verdict computed from them."""
    if summary:
        st.subheader("Label efficiency")
        st.plotly_chart(viz.efficiency_chart(summary, f"Test accuracy vs labels used on {settings.dataset_title(st_['dataset'])} (mean ± std over label draws)"), key=f"{K}.curves")
        table = pd.DataFrame(summary)
        table["labels used"] = [f"{100 * f:g}% ({n})" for f, n in zip(table["fraction"], table["labels"])]
        pivot = table.assign(result=[f"{m:.3f} ± {s:.3f}" for m, s in zip(table["mean"], table["std"])]).pivot_table(
            index=["encoder", "mode"], columns="labels used", values="result", aggfunc="first", sort=False)
        st.dataframe(pivot, key=f"{K}.curve_table")
        text = verdict(summary)
        if text:
            st.markdown(text)
            st.caption("For comparison, benchmarks/RESULTS.md, section “Label efficiency” (SimCLR pre-trained 60 s, 1,000 supervised steps, "
                       "3 label draws): the largest gain over scratch is at 1% of the labels on digits (+11.1 points), and with all the "
                       "labels SimCLR's probe is still ahead (+2.5 points on digits, +3.1 on shapes); on shapes at 5% scratch ties it (−0.3).")


def render_leaderboard(st_: dict, summary: list[dict]) -> None:
    """One row per encoder: its pre-training budget and its scores."""
    pre = st_.get("pretrain", {})
    if pre:
        st.subheader("Leaderboard")
        spent = {}
        for r in st_.get("rows", []):
            spent[r["encoder"]] = spent.get(r["encoder"], 0.0) + r["seconds"]
        most = max((r["fraction"] for r in summary), default=None)
        best = {(r["encoder"], r["mode"]): r["mean"] for r in summary if r["fraction"] == most}
        board = [{"encoder": label, "pre-training (s)": round(p.get("seconds", 0.0), 1), "steps": p.get("steps", 0),
                  "probe, all labels": p.get("probe"), "kNN, all labels": p.get("knn"),
                  "fine-tune, most labels": best.get((label, "fine-tune")), "evaluation time (s)": round(spent.get(label, 0.0), 1)}
                 for label, p in pre.items()]
        if (evaluate.SCRATCH, evaluate.SCRATCH) in best:
            board.append({"encoder": evaluate.SCRATCH, "fine-tune, most labels": best[(evaluate.SCRATCH, evaluate.SCRATCH)],
                          "evaluation time (s)": round(spent.get(evaluate.SCRATCH, 0.0), 1)})
        st.dataframe(leaderboard_style(pd.DataFrame(board).set_index("encoder")), key=f"{K}.board")
        other = {label: p["width"] for label, p in pre.items() if p.get("width") not in (None, recipes.backbone_width())}
        if other:  # an encoder trained on another page with another width: its curves do not share the from-scratch backbone
            st.caption(f"Not the same backbone: the from-scratch network has width {recipes.backbone_width()}; "
                       + ", ".join(f"{label} has width {w}" for label, w in other.items()) + ".")


def leaderboard_style(table: pd.DataFrame) -> Any:
    """Whole steps, seconds to 0.1, accuracies to 0.001, and "—" where a row has no value (the from-scratch row was never pre-trained)."""
    formats = {c: "{:.0f}" if c == "steps" else "{:.1f}" if c.endswith("(s)") else "{:.3f}" for c in table.columns}
    return table.style.format(formats, na_rep="—")


def render_attributes(st_: dict) -> None:
    """Which image attributes each frozen encoder still carries."""
    attributes = st_.get("attributes", {})
    if attributes and len(st_["chance"]) > 1:
        st.subheader("What each encoder keeps: attribute probes")
        how = st.radio("Read each attribute with", evaluate.ATTRIBUTE_READERS, horizontal=True, key=f"{K}.attr_how",
                       help="A linear probe finds almost anything still in the features; kNN asks whether the attribute shapes their geometry "
                            "(are an image's nearest neighbours the same colour?). Invariances show most clearly with kNN.")
        rows = {**{enc: scores[how] for enc, scores in attributes.items()}, "chance (most frequent value)": st_["chance"]}
        st.plotly_chart(viz.score_heatmap(rows, f"Reading each attribute from the frozen features ({how}, test images)"), key=f"{K}.attributes")
        st.caption("Each cell: how well that attribute (shape class, colour, size, 3×3 position) can be read from the encoder's features. "
                   "An augmentation teaches invariance: colour jitter makes the features care less about colour; crops and rotations blur position. "
                   "Text summary: " + "; ".join(f"{enc}: " + ", ".join(f"{a} {v:.2f}" for a, v in vals.items()) for enc, vals in rows.items()) + ".")


def render_features(view: jobs.JobView) -> None:
    """Each encoder's test features, projected to 2-D side by side."""
    st_ = view.state
    features = st_.get("features", {})
    if features:
        st.subheader("Features side by side")
        how = st.radio("Projection", reduce.METHODS, horizontal=True, key=f"{K}.projection",
                       help="PCA is linear and instant; t-SNE keeps neighbours together and shows clusters better (a few seconds per encoder).")
        names = list(features)
        for start in range(0, len(names), 3):
            cols = st.columns(3)
            for col, name in zip(cols, names[start : start + 3]):
                coords = projection(view.id, name, how, features[name])
                col.plotly_chart(viz.embedding_scatter(coords, st_["embedding_labels"], st_["class_names"], f"{name} ({how} of {len(coords)} test images)"),
                                 key=f"{K}.pca.{name}")


def render_confusion(st_: dict) -> None:
    """The all-labels probe's confusion matrix and its most common mistake."""
    confusion = st_.get("confusion", {})
    if confusion:
        st.subheader("Confusion matrix of the linear probe (all labels)")
        which = st.selectbox("Encoder", list(confusion), key=f"{K}.confusion_pick")
        table = confusion[which]
        st.plotly_chart(viz.count_heatmap(table, [f"true {c}" for c in st_["class_names"]], [f"said {c}" for c in st_["class_names"]],
                                          f"{which}: test images by true and predicted class"), key=f"{K}.confusion")
        off = table - np.diag(np.diag(table))
        i, j = np.unravel_index(off.argmax(), off.shape)
        st.caption(f"Accuracy {np.trace(table) / table.sum():.3f}. The most common mistake: {off[i, j]} test images of "
                   f"'{st_['class_names'][i]}' called '{st_['class_names'][j]}'.")


def render_weak(view: jobs.JobView) -> None:
    result = view.state.get("result")
    if result is None:
        return
    points = st.session_state.setdefault(f"{KW}.points", {})
    points[(result["dataset"], result["encoder"], result["noise"])] = result
    mine = sorted((r for (d, e, _), r in points.items() if d == result["dataset"] and e == result["encoder"]), key=lambda r: r["noise"])
    rows = [{"noise": r["noise"], "from scratch, all labels noisy": r["weak"],
             **{f"{result['encoder']} probe, {n} clean labels": acc for n, acc in r["clean"].values()}} for r in mine]
    st.plotly_chart(viz.line_chart(rows, [k for k in rows[0] if k != "noise"], f"Weak vs few clean labels on {settings.dataset_title(result['dataset'])}", x="noise"), key=f"{KW}.chart")
    st.caption("Text summary: " + "; ".join(f"{r['noise']:.0%} wrong → {r['weak']:.3f}" for r in mine) + ". Clean: "
               + ", ".join(f"{n} labels → {acc:.3f}" for n, acc in result["clean"].values()) + ".")
