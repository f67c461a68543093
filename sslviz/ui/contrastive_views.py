"""The Contrastive learning page's views of a run and of a comparison (layout only: the numbers come from the job)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from sslviz import data, diagnostics, jobs, methods, reduce, viz
from sslviz.ui import collapse_views, page, settings

K = "contrastive"
KC = f"{K}.compare"


def interpretation(m: dict, dataset: str, name: str, collapsed: str | None = None) -> str:
    """A plain reading of a run's accuracies against raw pixels and a random-init CNN; every conclusion comes from this run's numbers."""
    probe, knn = m["probe_acc"], m["knn_acc"]
    lines = []
    verdict = lambda a, b: "beats" if a > b + 0.005 else ("ties with" if abs(a - b) <= 0.005 else "loses to")  # noqa: E731
    for base, key in (("raw pixels", "raw_pixel"), ("a random-init CNN", "random_init")):
        bp, bk = m[f"{key}_probe_acc"], m[f"{key}_knn_acc"]
        lines.append(f"- Linear probe: {name} {probe:.3f} {verdict(probe, bp)} {base} ({bp:.3f}); kNN: {knn:.3f} {verdict(knn, bk)} {base} ({bk:.3f}).")
    if "probe_2_per_class_acc" in m:
        lines.append(f"- With only **2 labels per class**: {name} {m['probe_2_per_class_acc']:.3f}, random-init CNN "
                     f"{m['random_init_probe_2_per_class_acc']:.3f}, raw pixels {m['raw_pixel_probe_2_per_class_acc']:.3f} — "
                     "few labels is where a good representation saves the most.")
    lines.append("- " + what_it_learned(m, collapsed))
    return "\n".join(lines)


def what_it_learned(m: dict, collapsed: str | None) -> str:
    """The run's verdict: collapsed ("total" or "dimensional", from ``diagnostics.collapse_kind``), no augmentation, a clear kNN gain
    over a random network, or none."""
    gain = m["knn_acc"] - m["random_init_knn_acc"]
    augment = m.get("config", {}).get("augment", "")
    if collapsed == "dimensional":
        return (f"This run suffered a **dimensional collapse** (banner above): its embeddings still vary, but along only a few directions — kNN "
                f"{gain:+.3f} against a random network. What it scores comes from the encoder below the projection head.")
    if collapsed:
        return (f"This run **collapsed** (banner above): the embeddings stopped varying, so its features say little — kNN {gain:+.3f} "
                "against a random network. What it scores comes from the encoder below the collapsed head.")
    if augment == "none":
        return (f"No augmentation: the two views of an image are identical, so the loss can be met without learning what the images share — "
                f"kNN {gain:+.3f} against a random network. Nothing here taught the encoder to ignore colour, size or position.")
    if gain > 0.05:
        return (f"kNN gains {gain:+.3f} over a random network with the same architecture: neighbours in the learned space share their class "
                f"more often. The two views differed only in what the '{augment}' augmentations vary, so matching them rewarded features that ignore it.")
    return (f"kNN changed by only {gain:+.3f} against a random network with the same architecture: in this budget the method learned little "
            "that a random network does not already give. Try a longer budget or the method's default settings.")


@st.cache_data(show_spinner="Computing t-SNE (a few seconds)...", max_entries=4)
def tsne(job_id: str, step: int, features: np.ndarray) -> np.ndarray:
    return reduce.tsne_2d(features)


def health(view: jobs.JobView) -> None:
    """The collapse banner and the embedding-health charts."""
    h = view.history
    dim = view.state.get("config", {}).get("proj_dim", 64)
    collapse_views.banner(h, dim)
    short = None if view.active else collapse_views.too_short(view.state.get("label", ""), h, dim)
    if short is not None:
        st.info(short, icon=":material/hourglass_empty:")
    c1, c2 = st.columns(2)
    c1.plotly_chart(viz.line_chart(h, ["alignment", "uniformity"], "Alignment, uniformity (lower = better; 0 = collapsed)"), key=f"{K}.au")
    c2.plotly_chart(viz.line_chart([{**r, "std × √d": diagnostics.spread(r, dim)} for r in h], ["std × √d", "effective_rank"],
                                   f"Spread of the normalised embedding (d = {dim})", right=["effective_rank"]), key=f"{K}.spread")


def embedding(view: jobs.JobView, class_names: list[str]) -> None:
    """The 2-D embedding of the test images: live while training; when done, PCA or t-SNE with each image on hover."""
    if "embedding" not in view.state:
        return
    coords, how = view.state["embedding"], "PCA"
    if not view.active and st.radio("Projection", reduce.METHODS, horizontal=True, key=f"{K}.projection",
                                    help="PCA is linear and instant; t-SNE keeps neighbours together and shows clusters better.") == "t-SNE":
        coords, how = tsne(view.id, view.state["embedding_step"], view.state["features"]), "t-SNE"
    title = f"Encoder features of {len(coords)} test images ({how}), step {view.state['embedding_step']} — coloured by the true label the method never saw"
    if "neighbours" in view.state and "summary" in view.state:
        pick_from_embedding(coords, view.state["embedding_labels"], class_names, title, view.state["summary"], view.state["neighbours"]["queries"])
    else:
        st.plotly_chart(viz.embedding_scatter(coords, view.state["embedding_labels"], class_names, title), key=f"{K}.embedding")


def render(view: jobs.JobView, expectations: dict[str, str]) -> None:
    """A contrastive run: curves, health, the embedding, and its accuracies against both baselines; ``expectations``: run label -> what it should show."""
    h = view.history
    name = view.state.get("label", "")
    class_names = view.state.get("class_names", [])
    if name:
        expect = expectations.get(name, "")
        st.markdown(f"**Run: {name}** on {settings.dataset_title(view.state.get('dataset'))}" + (f" — *{expect}*" if expect else ""))
    c1, c2 = st.columns(2)
    if h:
        c1.plotly_chart(viz.line_chart(h, ["loss"], "Training loss"), key=f"{K}.loss_chart")
        c2.plotly_chart(viz.line_chart(h, ["positive_sim", "negative_sim"], "Mean cosine similarity: positives vs negatives"), key=f"{K}.sim_chart")
        first, last = h[0], h[-1]
        st.caption(f"Text summary: {len(h)} steps so far; loss {first['loss']:.3f} → {last['loss']:.3f}; positive-pair similarity "
                   f"{last['positive_sim']:.2f}, negatives {last['negative_sim']:.2f}; uniformity {last['uniformity']:.2f}; "
                   f"effective rank {last['effective_rank']:.1f}.")
        if "own_keys_left_out" in last:
            k = view.state.get("config", {}).get("queue_size")
            st.caption(f"MoCo's queue holds the keys of the last {k} views it encoded (random keys until it fills). At the last step each query met "
                       f"{last['own_keys_left_out']:.1f} earlier keys of its own image there, on average — they are left out of its negatives, "
                       "which are keys of other images only.")
        health(view)
    embedding(view, class_names)
    if "sphere" in view.state:
        pts = view.state["sphere"]
        st.plotly_chart(viz.sphere_scatter(pts, view.state["embedding_labels"], class_names,
                                           f"The {pts.shape[1]}-D projection head's output on the unit {'circle' if pts.shape[1] == 2 else 'sphere'}: uniformity made visible"),
                        key=f"{K}.sphere")
    summary = view.state.get("summary")
    if summary:
        st.subheader("Is the representation any good?")
        rows = {
            name or "SSL": {"linear probe": summary["probe_acc"], "kNN (k=20)": summary["knn_acc"]},
            "random-init CNN": {"linear probe": summary["random_init_probe_acc"], "kNN (k=20)": summary["random_init_knn_acc"]},
            "raw pixels": {"linear probe": summary["raw_pixel_probe_acc"], "kNN (k=20)": summary["raw_pixel_knn_acc"]},
        }
        st.plotly_chart(viz.accuracy_bars(rows, f"Held-out test accuracy on {settings.dataset_title(summary['dataset'])} (frozen features)"), key=f"{K}.acc")
        st.dataframe(pd.DataFrame(rows).T.style.format("{:.3f}"), key=f"{K}.acc_table")
        ks = sorted(int(k.split("_")[1]) for k in summary if k.startswith("probe_") and k.endswith("_per_class_acc"))
        if ks:
            names = {name or "SSL": "", "random-init CNN": "random_init_", "raw pixels": "raw_pixel_"}
            few = [{"labels per class": k, **{n: summary[f"{p}probe_{k}_per_class_acc"] for n, p in names.items()}} for k in ks]
            st.plotly_chart(viz.line_chart(few, list(names), "Few labels: linear probe trained on k labelled images per class (mean of 3 draws)",
                                           x="labels per class"), key=f"{K}.few")
            st.caption("Text summary: " + "; ".join(f"{r['labels per class']}/class — " + ", ".join(f"{n} {r[n]:.2f}" for n in names) for r in few))
        collapsed = diagnostics.collapse_kind(h, summary.get("config", {}).get("proj_dim", 64))
        st.markdown(interpretation(summary, summary["dataset"], name or "SSL", collapsed))
        pretrained = f" (pre-trained on its {summary['pretrained_on']} split; probe and kNN fit on the labelled train split)" if summary.get("pretrained_on") else ""
        st.caption(f"{summary['steps']} steps in {summary['seconds']} s on {settings.dataset_title(summary['dataset'])}{pretrained}, seed {summary['seed']}. Protocol: frozen features, standardised, L2 logistic regression; "
                   "kNN with cosine similarity, k = 20; the same test split for all three.")
        if "neighbours" in view.state:
            neighbour_explorer(view.state["neighbours"], summary, name or "SSL")


@st.cache_data(max_entries=8, show_spinner=False)
def thumbnails(dataset: str, seed: int, n: int) -> list[str]:
    """The first ``n`` test images as PNG data URLs for the embedding's tooltips (made once per dataset and seed)."""
    return viz.data_urls(data.load(dataset, "test", seed).images[:n])


def pick_from_embedding(coords: np.ndarray, labels: np.ndarray, class_names: list[str], title: str, summary: dict, queries: int) -> None:
    """The finished run's embedding with each point's image on hover; a click makes that image the neighbour explorer's query."""
    chart = viz.thumbnail_scatter(coords, labels, class_names, title, thumbnails(summary["dataset"], summary["seed"], len(coords)), select="picked")
    event = st.altair_chart(chart, on_select="rerun", key=f"{K}.embedding_pick")
    st.caption("Hover a point to see its image; click it to see its nearest neighbours under “Nearest neighbours” below (double-click clears).")
    points = (event.selection.get("picked") or []) if event else []
    picked = int(points[0]["image_index"]) if points and "image_index" in points[0] else None
    # Only a new click moves the query, so the number box below still works after a point was clicked.
    if picked is not None and picked != st.session_state.get(f"{K}.embedding_picked") and 0 <= picked < queries:
        st.session_state[f"{K}.neighbour_query"] = picked
    st.session_state[f"{K}.embedding_picked"] = picked


def neighbour_explorer(found: dict, summary: dict, name: str) -> None:
    """Pick a test image: its nearest training images for the trained encoder, raw pixels and a random-init encoder."""
    st.subheader("Nearest neighbours: what each representation calls similar")
    train, test = data.load(summary["dataset"], "train", summary["seed"]), data.load(summary["dataset"], "test", summary["seed"])
    n = found["queries"]
    key = f"{K}.neighbour_query"
    if st.session_state.get(key, 0) >= n:  # a run with fewer test images than the previous one
        st.session_state.pop(key)
    pick = st.number_input(f"Test image (0–{n - 1})", 0, n - 1, key=key, **settings.default(key, 0),
                           help="Or click a point of the embedding above. The nearest training images by cosine similarity, "
                                "as kNN finds them; a tick marks the query's class.")
    query_class = test.class_names[int(test.labels[pick])]
    spaces = (("trained", name), ("raw pixels", "raw pixels"), ("random init", "random-init CNN"))
    left, right = st.columns([1, 6])
    page.image(left, viz.tile(test.images[pick : pick + 1], cols=1, scale=3), caption=f"query: {query_class}")
    with right:
        for space, label in spaces:
            index = found["index"][space][pick]
            marks = ["✓" if int(train.labels[i]) == int(test.labels[pick]) else "✗" for i in index]
            verdict = f"{label}: {marks.count('✓')} of {len(index)} share the query's class — " + " ".join(
                f"{m}{train.class_names[int(train.labels[i])]}" for m, i in zip(marks, index))
            page.image(st, viz.tile(train.images[index], cols=len(index), scale=3), alt=f"The nearest training images in {label}. {verdict}")
            st.caption(verdict)
    shares = found["same_class"]
    st.caption(f"Over all {len(test)} test images, the share of their {found['k']} nearest training images with the query's class: "
               + ", ".join(f"{label} {shares[space]:.2f}" for space, label in spaces)
               + f"; picked at random, {found['chance']:.2f}. Neighbours come from the first {found['pool']:,} training images.")
    if len(test) < 200:
        st.caption(f"Only {len(test)} test images: one image is {100 / len(test):.1f} points of accuracy, so small differences above are noise.")


def render_comparison(view: jobs.JobView) -> None:
    """Several methods trained under one budget: their curves and accuracies side by side."""
    if view.history:
        st.plotly_chart(viz.grouped_lines(view.history, "method", "loss", "Training loss (each method has its own loss: compare shapes, not levels)"), key=f"{KC}.loss")
        c1, c2 = st.columns(2)
        c1.plotly_chart(viz.grouped_lines(view.history, "method", "uniformity", "Uniformity while training (lower = more spread)"), key=f"{KC}.uniformity")
        c2.plotly_chart(viz.grouped_lines(view.history, "method", "alignment", "Alignment while training (lower = views closer)"), key=f"{KC}.alignment")
    results = view.state.get("results", {})
    for m, r in results.items():
        if "probe_acc" not in r:
            st.warning(f"{methods.title(m)}: {r['message']}")
    results = {m: r for m, r in results.items() if "probe_acc" in r}
    if results:
        table = pd.DataFrame({methods.title(m): {"linear probe": r["probe_acc"], "kNN": r["knn_acc"], "steps": r["steps"],
                                                 "batch": r["train_config"]["batch_size"], "lr": r["train_config"]["lr"],
                                                 "final uniformity": [h["uniformity"] for h in view.history if h["method"] == m][-1]}
                              for m, r in results.items()}).T
        any_result = next(iter(results.values()))
        table.loc["random-init CNN"] = [any_result["random_init_probe_acc"], any_result["random_init_knn_acc"], 0, float("nan"), float("nan"), float("nan")]
        table.loc["raw pixels"] = [any_result["raw_pixel_probe_acc"], any_result["raw_pixel_knn_acc"], 0, float("nan"), float("nan"), float("nan")]
        batches = {methods.title(m): r["train_config"]["batch_size"] for m, r in results.items()}
        st.plotly_chart(viz.accuracy_bars({k: {"linear probe": v["linear probe"], "kNN": v["kNN"]} for k, v in table.iterrows()},
                                          "Held-out accuracy, same time budget per method" + ("" if len(set(batches.values())) == 1 else
                                          " (batch sizes differ: " + ", ".join(f"{m} {b}" for m, b in batches.items()) + ")")), key=f"{KC}.bars")
        st.dataframe(table.style.format({"linear probe": "{:.3f}", "kNN": "{:.3f}", "steps": "{:.0f}", "batch": "{:.0f}", "lr": "{:g}",
                                         "final uniformity": "{:.2f}"}, na_rep="—"), key=f"{KC}.table")
        if len(set(batches.values())) > 1:
            st.caption("Each method runs with its own tuned batch size and learning rate (table), the same encoder, seed and seconds: "
                       "a method with a smaller batch takes more, cheaper steps in the same time.")
