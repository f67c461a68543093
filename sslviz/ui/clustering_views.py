"""Views of app_pages/clustering.py: what it draws from a job's state (layout only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from sslviz import data, evaluate, jobs, viz
from sslviz.ui import page, settings

K = "cluster"
KC = f"{K}.compare"


def gallery(train_set: data.Dataset, labels: np.ndarray, sizes: np.ndarray, class_names: tuple, n_clusters: int = 6, per_cluster: int = 12) -> None:
    """Sample images of the biggest clusters, each with its size, majority class and purity."""
    truth = train_set.labels.numpy()
    for c in np.argsort(-sizes)[:n_clusters]:
        members = np.flatnonzero(labels == c)
        if len(members) == 0:
            continue
        shown = np.random.default_rng(int(c)).choice(members, size=min(per_cluster, len(members)), replace=False)
        counts = np.bincount(truth[members], minlength=len(class_names))
        cue = ""
        if "colour" in train_set.attributes:
            colours, ccount = np.unique(train_set.attributes["colour"][members], return_counts=True)
            cue = f"; most common colour {colours[ccount.argmax()]} ({ccount.max() / len(members):.0%})"
        page.image(st, viz.tile(train_set.images[torch.from_numpy(shown)], cols=per_cluster, scale=2),
                 caption=f"cluster {c}: {len(members)} images; most common class {class_names[counts.argmax()]} ({counts.max() / len(members):.0%}){cue}")


def render(view: jobs.JobView, train_set: data.Dataset) -> None:
    """A DeepCluster run round by round: scores per round, cluster tables and galleries (``train_set``: the images it clustered)."""
    h, rounds = view.history, view.state.get("rounds", [])
    class_names = tuple(view.state.get("class_names", train_set.class_names))
    if h:
        c1, c2 = st.columns(2)
        c1.plotly_chart(viz.line_chart(h, ["loss"], "Cross-entropy on the pseudo-labels (jumps at every new round)"), key=f"{K}.loss")
        c2.plotly_chart(viz.line_chart(h, ["pseudo_label_acc", "largest_cluster"], "Pseudo-label accuracy and the largest cluster's share"), key=f"{K}.acc_curve")
    if rounds:
        cue_keys = ["nmi", "ari"] + [key for key in rounds[0] if key.startswith("nmi_") and key != "nmi_previous"]
        c1, c2 = st.columns(2)
        c1.plotly_chart(viz.line_chart(rounds, cue_keys, "Pseudo-labels vs the truth, per round (NMI, ARI)", x="round"), key=f"{K}.nmi")
        later = [r for r in rounds if "changed" in r]
        if later:
            c2.plotly_chart(viz.line_chart(later, ["changed", "nmi_previous"], "Stability between rounds: share of images that changed cluster; NMI", x="round"),
                            key=f"{K}.stability")
        first, last = rounds[0], rounds[-1]
        cues = "; ".join(f"NMI with {key[4:]} {first[key]:.2f} → {last[key]:.2f}" for key in cue_keys if key.startswith("nmi_"))
        if view.state.get("rounds_final"):  # a loaded model: its training rounds were not kept, only its final features are clustered
            st.caption(f"Text summary: k-means on the loaded model's features (its training rounds were not recorded): NMI with the true class "
                       f"{last['nmi']:.3f}, ARI {last['ari']:.3f}; {last['empty']} empty clusters.")
        else:
            st.caption(f"Text summary: {len(rounds)} rounds; NMI with the true class {first['nmi']:.3f} (round 1 = k-means on the random network) → "
                       f"{last['nmi']:.3f}; ARI {first['ari']:.3f} → {last['ari']:.3f}" + (f"; {cues}" if cues else "") +
                       f"; empty clusters in the last round: {last['empty']}.")
        # while training, always show the newest round; afterwards the learner can go back in time
        browse = not view.active and len(rounds) > 1
        pick = st.select_slider("Look at round", [r["round"] for r in rounds], value=rounds[-1]["round"], key=f"{K}.round") if browse else rounds[-1]["round"]
        rec = next((r for r in rounds if r["round"] == pick), rounds[-1])
        order = np.argsort(-rec["sizes"])
        c1, c2 = st.columns(2)
        c1.plotly_chart(viz.bars(rec["sizes"][order], order, f"Round {rec['round']}: cluster sizes, largest first ({rec['empty']} empty)", "images",
                                 highlight=list(rec["sizes"][order] == 0)), key=f"{K}.sizes")
        table = evaluate.contingency(rec["labels"], train_set.labels.numpy())
        ids = np.unique(rec["labels"])
        c2.plotly_chart(viz.count_heatmap(table, [f"cluster {i}" for i in ids], class_names, f"Round {rec['round']}: clusters × true classes"), key=f"{K}.table")
        n = len(rec["coords"])
        c1, c2 = st.columns(2)
        cluster_ids = rec["labels"][:n].astype(int)
        c1.plotly_chart(viz.embedding_scatter(rec["coords"], cluster_ids, [f"cluster {i}" for i in range(int(cluster_ids.max()) + 1)],
                                              f"Features (PCA) coloured by cluster, round {rec['round']}"), key=f"{K}.by_cluster")
        c2.plotly_chart(viz.embedding_scatter(rec["coords"], train_set.labels.numpy()[:n], class_names, "The same points coloured by the true class"), key=f"{K}.by_class")
        st.markdown(f"**Cluster galleries, round {rec['round']}** — the six biggest clusters, random members:")
        gallery(train_set, rec["labels"], rec["sizes"], class_names)
    summary = view.state.get("summary")
    if summary:
        rows = {"DeepCluster": {"linear probe": summary["probe_acc"], "kNN (k=20)": summary["knn_acc"]},
                "random-init encoder": {"linear probe": summary["random_init_probe_acc"], "kNN (k=20)": summary["random_init_knn_acc"]},
                "raw pixels": {"linear probe": summary["raw_pixel_probe_acc"], "kNN (k=20)": summary["raw_pixel_knn_acc"]}}
        st.plotly_chart(viz.accuracy_bars(rows, f"Held-out test accuracy on {settings.dataset_title(summary['dataset'])} (frozen features)"), key=f"{K}.probe")
        st.caption(f"{summary['steps']} steps in {summary['seconds']} s. The random-init encoder has the same architecture"
                   f"{' (with the Sobel filter)' if summary['config']['sobel'] else ''}. Protocol: frozen features, L2 logistic regression; kNN with cosine similarity, k = 20.")


def render_comparison(view: jobs.JobView) -> None:
    """k-means on four feature sets: NMI/ARI per feature set."""
    rows = view.state.get("rows", {})
    if rows:
        table = pd.DataFrame(rows).T.rename(columns={"nmi": "NMI (class)", "ari": "ARI (class)", "nmi_colour": "NMI (colour)", "nmi_size": "NMI (size)"})
        st.plotly_chart(viz.accuracy_bars({name: {"NMI (class)": r["nmi"], "ARI (class)": r["ari"]} for name, r in rows.items()},
                                          f"k-means (k = {view.state.get('k')}) against the true class"), key=f"{KC}.bars")
        st.dataframe(table.style.format("{:.3f}"), key=f"{KC}.table")
        if "NMI (colour)" in table:
            st.caption("On shapes, high NMI with colour and low NMI with the class means the clusters group colours, not shapes — the easy cue wins "
                       "unless the method removes it (Sobel filter, colour augmentation).")
