"""Views of app_pages/mae.py: what it draws from a job's state (layout only)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from sslviz import jobs, viz
from sslviz.ui import page, settings

K = "mae"
KS, KC = f"{K}.sweep", f"{K}.compare"


def interpretation(s: dict) -> str:
    gain_knn, gain_probe = s["knn_acc"] - s["random_init_knn_acc"], s["probe_acc"] - s["random_init_probe_acc"]
    return (
        f"- **kNN** (does the geometry of the frozen feature space group the classes?): MAE {s['knn_acc']:.3f} vs a random-init ViT "
        f"{s['random_init_knn_acc']:.3f} ({gain_knn:+.3f}) and raw pixels {s['raw_pixel_knn_acc']:.3f}.\n"
        f"- **Linear probe** (is the class linearly readable?): MAE {s['probe_acc']:.3f} vs random-init ViT {s['random_init_probe_acc']:.3f} "
        f"({gain_probe:+.3f}) and raw pixels {s['raw_pixel_probe_acc']:.3f}.\n"
        "- Why the protocol matters: reconstruction rewards keeping *everything* about the image, not just what separates classes, "
        "while contrastive methods are trained to discard what their augmentations vary. The MAE paper (He et al. 2022) reports its "
        "linear-probe accuracy below contrastive methods' and its **fine-tuned** accuracy above them; a frozen probe, as here, "
        "does not measure what fine-tuning would reach. Section 4 compares them on this data at equal budget."
    )


BORROWS_NOTHING = ("With normalised pixel targets the model predicts each patch's shape, not its brightness: the images and errors map it back "
                  "with the mean and spread of the image's *visible* patches, so nothing hidden is borrowed.")


def render(view: jobs.JobView) -> None:
    h = view.history
    if h:
        c1, c2 = st.columns(2)
        c1.plotly_chart(viz.line_chart(h, ["loss"], "Training loss (on the normalised targets when 'norm pix' is on)"), key=f"{K}.loss")
        c2.plotly_chart(viz.line_chart(h, ["masked_mse", "visible_mse"], "Pixel MSE: hidden vs visible patches"), key=f"{K}.mse")
        first, last = h[0], h[-1]
        st.caption(f"Text summary: {len(h)} steps; hidden-patch pixel MSE {first['masked_mse']:.4f} → {last['masked_mse']:.4f}; "
                   f"the encoder processed {int(last['encoder_tokens'])} tokens per image; {last['seconds'] / last['step'] * 1000:.0f} ms per step. "
                   + BORROWS_NOTHING)
    snap = view.state.get("snapshot")
    if snap is not None and "original" in snap:
        n = min(8, len(snap["original"]))
        grid = torch.cat([snap[k][:n] for k in ("original", "masked", "reconstruction", "pasted")])
        page.image(st, viz.tile(grid, cols=n, scale=4), caption=f"Step {snap['step']} — rows: original · masked input · reconstruction · hidden patches pasted in "
                 "(held-out test images, the same mask every time). " + BORROWS_NOTHING)
    summary = view.state.get("summary")
    if summary:
        st.subheader("What do the frozen features say?")
        rows = {"MAE": {"linear probe": summary["probe_acc"], "kNN (k=20)": summary["knn_acc"]},
                "random-init ViT": {"linear probe": summary["random_init_probe_acc"], "kNN (k=20)": summary["random_init_knn_acc"]},
                "raw pixels": {"linear probe": summary["raw_pixel_probe_acc"], "kNN (k=20)": summary["raw_pixel_knn_acc"]}}
        st.plotly_chart(viz.accuracy_bars(rows, f"Held-out test accuracy on {settings.dataset_title(summary['dataset'])} (frozen features, mean-pooled tokens)"), key=f"{K}.acc")
        st.dataframe(pd.DataFrame(rows).T.style.format("{:.3f}"), key=f"{K}.acc_table")
        st.markdown(interpretation(summary))
        normalised = f" ({summary['test_masked_norm_mse']:.3f} in the normalised space the loss measures)" if "test_masked_norm_mse" in summary else ""
        st.caption(f"Held-out reconstruction error (pixel MSE on hidden patches): {summary['test_masked_mse']:.4f}{normalised}. "
                   f"{summary['steps']} steps in {summary['seconds']} s. Protocol: frozen features, standardised, L2 logistic regression; kNN with cosine similarity, k = 20.")


def sweep_verdict(rows: list[dict]) -> str:
    """What this sweep shows: does the ratio with the lowest held-out error also give the best kNN?"""
    if len(rows) < 2:
        return "Sweep at least two ratios to compare them."
    by_error = min(rows, key=lambda r: r["hidden-patch MSE (test)"])["mask ratio"]
    by_knn = max(rows, key=lambda r: r["kNN"])["mask ratio"]
    if by_error == by_knn:
        return (f"In this sweep the lowest held-out error and the best kNN are both at {by_error}. "
                "MAE's paper finds its best features near 75%: a high ratio leaves few neighbouring patches to copy from.")
    return (f"In this sweep the lowest held-out error is at {by_error} but the best kNN at {by_knn}: "
            "reconstruction error alone would have picked another ratio than the features do.")


def render_sweep(view: jobs.JobView) -> None:
    if view.history:
        st.plotly_chart(viz.grouped_lines(view.history, "method", "masked_mse", "Hidden-patch pixel MSE while training, per mask ratio"), key=f"{KS}.curves")
    results = {label: r for label, r in view.state.get("results", {}).items() if "probe_acc" in r}
    if results:
        rows = [{"mask ratio": label, "hidden-patch MSE (test)": r["test_masked_mse"], "linear probe": r["probe_acc"], "kNN": r["knn_acc"], "steps": r["steps"]}
                for label, r in results.items()]
        st.plotly_chart(viz.line_chart(rows, ["linear probe", "kNN"], "Frozen-feature accuracy per mask ratio", x="mask ratio"), key=f"{KS}.acc")
        st.dataframe(pd.DataFrame(rows).set_index("mask ratio").style.format({"hidden-patch MSE (test)": "{:.4f}", "linear probe": "{:.3f}", "kNN": "{:.3f}", "steps": "{:.0f}"}),
                     key=f"{KS}.table")
        st.caption(sweep_verdict(rows))


def render_comparison(view: jobs.JobView) -> None:
    results = {label: r for label, r in view.state.get("results", {}).items() if "probe_acc" in r}
    for label, r in view.state.get("results", {}).items():
        if "probe_acc" not in r:
            st.warning(f"{label}: {r['message']}")
    if results:
        table = pd.DataFrame({label: {"linear probe": r["probe_acc"], "kNN": r["knn_acc"], "probe gain over random init": r["probe_acc"] - r["random_init_probe_acc"],
                                      "kNN gain over random init": r["knn_acc"] - r["random_init_knn_acc"], "steps": r["steps"]} for label, r in results.items()}).T
        st.plotly_chart(viz.accuracy_bars({k: {"linear probe": v["linear probe"], "kNN": v["kNN"]} for k, v in table.iterrows()},
                                          "Held-out accuracy, frozen features, same budget"), key=f"{KC}.bars")
        st.dataframe(table.style.format({c: "{:.3f}" for c in table.columns if c != "steps"} | {"steps": "{:.0f}"}), key=f"{KC}.table")
        st.markdown("The lecture says MAE **scales well and often beats contrastive methods** — on ImageNet-sized data, with large ViTs, "
                    "long training and **fine-tuning**. Here everything is small: a few thousand images, a 3-block ViT, seconds of training and "
                    "frozen features. Small budgets favour the method that gets the most signal per step, and frozen probes favour features "
                    "that already discard nuisances — both favour contrastive learning. Read the table with that in mind.")
