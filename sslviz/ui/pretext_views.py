"""Views of app_pages/pretext.py: what it draws from a job's state (layout only)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import streamlit as st
import torch

from sslviz import data, jobs, methods, pretext, viz
from sslviz.ui import page, settings

K = "pretext"
KT = f"{K}.transfer"
DEGREES = ["0°", "90°", "180°", "270°"]
N_SHOWN = 64  # held-out images whose predictions the page shows
# Why a task can fail to beat a random network on a dataset (shown when a live run does).
WHY_IT_FAILS = {
    ("autoencoder", "shapes"): "A shapes image is one coloured blob on a dark background: a code that records its colour, size and position already "
                               "reconstructs it well, without knowing a circle from a cross. Reconstruction rewards the pixels, not the class.",
    ("colorization", "shapes"): "Each shape's colour is drawn at random, independently of the shape, so the only colour cue in the grey image is brightness. "
                                "The network learns a brightness-to-colour lookup, and its features drift away from the outline that defines the class.",
    ("colorization", "photos"): "Photos have two classes told apart by colour alone, so even a random network is strong here.",
}


def labelled_images(images: torch.Tensor, rows: Sequence[int], captions: Sequence[str]) -> None:
    """The images at ``rows`` side by side, each with its own caption underneath."""
    scale = max(1, 96 // images.shape[-1])  # crisp pixels at about 96 px, not a blurred 24-px image
    page.image(st, [viz.tile(images[i : i + 1], scale=scale, pad=0) for i in rows], caption=list(captions), width=96)


def predictions(task: str, snap: dict, test_set: data.Dataset) -> None:
    """What the trained network predicts on held-out images, and where it is wrong."""
    labels = test_set.labels[:N_SHOWN].numpy()
    names = test_set.class_names
    if task in ("rotation", "jigsaw"):
        pred, conf = snap["probs"].argmax(1), snap["probs"].max(1).values
        wrong = (pred != snap["target"]).numpy()
        if task == "rotation":
            shown = snap["input"]
            describe = lambda i: f"{DEGREES[int(snap['target'][i])]}→{DEGREES[int(pred[i])]} ({conf[i]:.0%})"  # noqa: E731
        else:
            shown = pretext.join_tiles(snap["tiles"], 2)
            describe = lambda i: f"{''.join(map(str, pretext.JIGSAW_PERMUTATIONS[int(pred[i])].tolist()))} ({conf[i]:.0%})"  # noqa: E731
        st.markdown("**Held-out inputs** — under each: true → predicted (confidence)" if task == "rotation" else "**Held-out inputs** — under each: the predicted order (confidence)")
        labelled_images(shown, range(16), [describe(i) for i in range(16)])
        per_class = {names[c]: float((~wrong[labels == c]).mean()) for c in np.unique(labels)}
        st.plotly_chart(viz.bars(list(per_class.values()), list(per_class), f"Pretext accuracy per class on {len(labels)} held-out images", "accuracy"),
                        key=f"{K}.{task}.per_class")
        if wrong.any():
            idx = np.flatnonzero(wrong)[np.argsort(-conf.numpy()[wrong])][:8]
            st.markdown("**The most confident mistakes** — under each: its class, then as above")
            labelled_images(shown, idx.tolist(), [f"{names[labels[i]]}: {describe(i)}" for i in idx])
        if task == "rotation" and test_set.name == "shapes":
            st.info("The rotation pseudo-label is ambiguous here, for two reasons. The shapes dataset already draws every shape at a **random angle**, so there is no "
                    "upright orientation to recover. And a circle looks the same at every angle, a square and a cross after every quarter turn: "
                    "for them the pseudo-label is **undecidable** (best possible pretext accuracy 25%). Rotation is meant for data with a canonical "
                    "orientation, like digits; whether the features still help here is what the layer scores below measure.")
        if task == "rotation" and test_set.name == "digits":
            st.info("Look for 0, 1 and 8 among the mistakes: turned by 180° they are still (almost) the same digit, and a 6 upside down is a 9.")
        return
    rows = {"autoencoder": ("original", "input", "pred"), "inpainting": ("original", "input", "pasted"), "colorization": ("input", "pred", "original")}[task]
    titles = {"autoencoder": "original · input · reconstruction", "inpainting": "original · with hole · hole filled by the network",
              "colorization": "grey input · predicted colours · true colours"}[task]

    def grid(index) -> torch.Tensor:  # the rows for the chosen images; grey inputs shown as RGB beside colour images
        return torch.cat([snap[r][index].expand(-1, test_set.channels, -1, -1) for r in rows])

    page.image(st, viz.tile(grid(slice(0, 8)), cols=8, scale=3), caption=f"Held-out images, rows: {titles}")
    error = ((snap["pred"] - snap["original"]) ** 2).flatten(1).mean(1)
    worst = error.argsort(descending=True)[:8]
    page.image(st, viz.tile(grid(worst), cols=8, scale=3),
             caption="The eight worst of 64 (same rows) — " + ", ".join(f"{names[labels[i]]} {error[i]:.3f}" for i in worst.tolist()))
    if task == "colorization":
        st.info("Grey keeps only brightness: colours of similar brightness (a red and a green, say) cannot be told apart from the input, "
                "so a network trained with squared error predicts their average. That ambiguity is why Zhang et al. predict a distribution over colours.")


def layer_chart(task: str, layers: dict) -> None:
    rows = [{"block": str(layer), **{f"{who} kNN": layers[who][layer]["knn_acc"] for who in ("trained", "random init")},
             **{f"{who} probe": layers[who][layer]["probe_acc"] for who in ("trained", "random init")}} for layer in (1, 2, 3)]
    st.plotly_chart(viz.line_chart(rows, ["trained kNN", "random init kNN", "trained probe", "random init probe"],
                                   f"Where are the good features? Accuracy after each block (transfer layer: {layers['transfer_layer']})", x="block"),
                    key=f"{K}.{task}.layers")
    st.caption("Text summary: " + "; ".join(f"block {r['block']}: kNN {r['trained kNN']:.3f} vs {r['random init kNN']:.3f} random, "
                                            f"probe {r['trained probe']:.3f} vs {r['random init probe']:.3f}" for r in rows))


def make_render(task: str, test_set: data.Dataset):
    """The view of one pretext task's run: curves, predictions on held-out images, the layer chart, transfer accuracy."""
    def render(view: jobs.JobView) -> None:
        h = view.history
        if h:
            metric = [key for key in h[-1] if key not in ("loss", "step", "seconds")]
            c1, c2 = st.columns(2)
            c1.plotly_chart(viz.line_chart(h, ["loss"], "Pretext loss"), key=f"{K}.{task}.loss")
            c2.plotly_chart(viz.line_chart(h, metric, "Pretext metric"), key=f"{K}.{task}.metric")
            st.caption(f"Text summary: {len(h)} steps; loss {h[0]['loss']:.3f} → {h[-1]['loss']:.3f}; " + ", ".join(f"{viz.metric_label(m)} {h[-1][m]:.3f}" for m in metric) + ".")
        if view.state.get("summary") and "snapshot" in view.state:
            st.markdown("**What the network predicts on held-out images**")
            predictions(task, view.state["snapshot"], test_set)
        if "layers" in view.state:
            layer_chart(task, view.state["layers"])
        s = view.state.get("summary")
        if s:
            rows = {methods.title(task): {"linear probe": s["probe_acc"], "kNN (k=20)": s["knn_acc"]},
                    "random init (same block)": {"linear probe": s["random_init_probe_acc"], "kNN (k=20)": s["random_init_knn_acc"]},
                    "raw pixels": {"linear probe": s["raw_pixel_probe_acc"], "kNN (k=20)": s["raw_pixel_knn_acc"]}}
            st.plotly_chart(viz.accuracy_bars(rows, f"Transfer: held-out accuracy on {settings.dataset_title(s['dataset'])} from block {s['config']['transfer_layer']} (frozen)"), key=f"{K}.{task}.acc")
            if s["knn_acc"] <= s["random_init_knn_acc"]:
                st.warning(f"**{methods.title(task)} did not beat the random network on {settings.dataset_title(s['dataset'])}** (kNN {s['knn_acc']:.3f} vs {s['random_init_knn_acc']:.3f} at block "
                           f"{s['config']['transfer_layer']}). " + WHY_IT_FAILS.get((task, s["dataset"]), "At this budget and block the pretext features are no better "
                                                                                   "than random ones: check the layer chart, or train longer."))
            st.caption(f"{s['steps']} steps in {s['seconds']} s. Protocol: frozen features, L2 logistic regression; kNN with cosine similarity, k = 20.")

    return render


def render_transfer(view: jobs.JobView) -> None:
    """Every pretext task's encoder under one budget, each against a random network at its own layer."""
    results = {label: r for label, r in view.state.get("results", {}).items() if "probe_acc" in r}
    if not results:
        return
    table = pd.DataFrame({label: {"block": r["config"]["transfer_layer"], "linear probe": r["probe_acc"], "kNN": r["knn_acc"],
                                  "random init kNN (same block)": r["random_init_knn_acc"], "kNN gain": r["knn_acc"] - r["random_init_knn_acc"]}
                          for label, r in results.items()}).T
    any_result = next(iter(results.values()))
    st.plotly_chart(viz.accuracy_bars({**{k: {"linear probe": v["linear probe"], "kNN": v["kNN"]} for k, v in table.iterrows()},
                                       "raw pixels": {"linear probe": any_result["raw_pixel_probe_acc"], "kNN": any_result["raw_pixel_knn_acc"]}},
                                      "Transferred encoders: held-out accuracy, same budget"), key=f"{KT}.bars")
    st.dataframe(table.style.format({"block": "{:.0f}", "linear probe": "{:.3f}", "kNN": "{:.3f}", "random init kNN (same block)": "{:.3f}", "kNN gain": "{:+.3f}"}),
                 key=f"{KT}.table")
    for label, r in results.items():
        task = next(t for t in methods.of_family("pretext") if methods.title(t) == label)
        if r["knn_acc"] <= r["random_init_knn_acc"]:
            st.warning(f"**{label}** does not beat its random network here (kNN {r['knn_acc']:.3f} vs {r['random_init_knn_acc']:.3f}). "
                       + WHY_IT_FAILS.get((task, r["dataset"]), "At this budget and block its features are no better than random ones."))
    best = table["kNN gain"].idxmax()
    st.markdown(
        f"Best gain over its random network here: **{best}** ({table.loc[best, 'kNN gain']:+.3f} kNN); smallest: **{table['kNN gain'].idxmin()}** "
        f"({table['kNN gain'].min():+.3f}). Run it on another dataset and compare the ranking (colorization cannot run on grey digits at all). "
        "That the best task depends on the data is the lecture's point: each pretext task is **hand-designed** for a kind of data, and what it "
        "teaches is **specific** to that task. Contrastive learning replaced this tinkering with one general recipe."
    )
