"""Contrastive learning: train SimCLR live and take InfoNCE apart."""

import numpy as np
import pandas as pd
import streamlit as st
import torch

from sslviz import augment, data, jobs, methods, project, viz
from sslviz.losses import info_nce, info_nce_anchor
from sslviz.methods.simclr import SimCLR
from sslviz.ui import live, page, settings

K = "contrastive"
TEMPERATURES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0]
BATCH_SIZES = [2, 8, 32, 64, 128, 256, 512]
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 1e-2, 1e-1, 1.0, 10.0, 1e12]

page.header(
    "Contrastive learning: SimCLR, live",
    "Given an image x, make two augmented views. The network should map them to **nearby** points (the positive pair) "
    "and keep them **far** from the views of every other image in the batch (the negatives). No labels anywhere — "
    "yet the embedding organises itself by class, because the augmentations hide everything *but* the class.",
    ["state the InfoNCE loss and read it as a softmax classification of the positive among negatives",
     "watch a representation form: loss, similarities and a 2-D embedding, live",
     "judge an SSL encoder honestly against raw pixels and a random network under the same protocol",
     "predict what the temperature τ does to the loss"],
)
page.formula(
    r"\ell_{a} = -\log \frac{\exp(\mathrm{sim}(z_a, z_{a^+})/\tau)}{\sum_{k \neq a} \exp(\mathrm{sim}(z_a, z_k)/\tau)},"
    r"\qquad \mathrm{sim}(u,v)=\frac{u^\top v}{\lVert u\rVert\,\lVert v\rVert},\qquad \mathcal{L}=\frac{1}{2N}\sum_{a=1}^{2N}\ell_a",
    "For each of the 2N views a in a batch of N images: its positive a⁺ is the other view of the same image, and the other 2N−2 views are negatives. "
    "The lecture writes the views as x⁺ and x⁻: x⁺ is the other view of the same image, the x⁻ are views of other images.",
)
page.show_code(info_nce, SimCLR.training_step)

gs = settings.current()
st.header("1 · Train SimCLR live")
with st.expander("Settings", expanded=False):
    c1, c2, c3 = st.columns(3)
    temperature = c1.select_slider("Temperature τ", TEMPERATURES, value=0.2, key=f"{K}.temperature")
    batch_size = c2.select_slider("Batch size (N images, 2N−2 negatives each)", BATCH_SIZES, value=256, key=f"{K}.batch")
    lr = c3.select_slider("Learning rate", LEARNING_RATES, value=2e-3, key=f"{K}.lr", format_func=lambda v: f"{v:g}",
                          help="1e12 is there on purpose: it makes the loss NaN, and the run stops with a message.")
    c4, c5 = st.columns(2)
    width = c4.select_slider("Encoder width (features = 4 × width)", [8, 16, 32, 64], value=16, key=f"{K}.width")
    default_preset = methods.default_config("simclr", gs.dataset).augment
    preset = c5.selectbox("Augmentations", ["dataset default"] + list(augment.PRESETS), key=f"{K}.augment",
                          help=f"'dataset default' is '{default_preset}' for {gs.dataset}. Try 'none' to see SimCLR learn nothing useful.")
st.caption(f"Dataset **{gs.dataset}**, seed {gs.seed}, budget {gs.seconds} s, device {gs.device} (change them in the sidebar). "
           "Changing a setting during a run does not affect it: the next run uses it.")


def make_target():
    overrides = {"temperature": temperature, "width": width, "augment": default_preset if preset == "dataset default" else preset}
    return jobs.experiment_job("simclr", gs.dataset, gs.seconds, gs.seed, gs.device, overrides, {"batch_size": batch_size, "lr": lr})


live.train_button(K, make_target)


def interpretation(m: dict, dataset: str) -> str:
    probe, knn = m["probe_acc"], m["knn_acc"]
    lines = []
    for name, key in (("raw pixels", "raw_pixel"), ("a random-init CNN", "random_init")):
        bp, bk = m[f"{key}_probe_acc"], m[f"{key}_knn_acc"]
        verdict = lambda a, b: "beats" if a > b + 0.005 else ("ties with" if abs(a - b) <= 0.005 else "loses to")  # noqa: E731
        lines.append(f"- Linear probe: SimCLR {probe:.3f} {verdict(probe, bp)} {name} ({bp:.3f}); kNN: {knn:.3f} {verdict(knn, bk)} {name} ({bk:.3f}).")
    if "probe_2_per_class_acc" in m:
        lines.append(f"- With only **2 labels per class**: SimCLR {m['probe_2_per_class_acc']:.3f}, random-init CNN "
                     f"{m['random_init_probe_2_per_class_acc']:.3f}, raw pixels {m['raw_pixel_probe_2_per_class_acc']:.3f} — "
                     "few labels is where a good representation saves the most.")
    if dataset == "digits":
        lines.append("- On digits, a linear probe on raw pixels or on a *random* CNN is already strong: digits are easy. "
                     "The gain of SSL shows mostly in **kNN** (is the geometry of the space meaningful?) and with few labels.")
    else:
        lines.append("- On shapes, colour, size, position and rotation vary at random, so pixels say little about the shape. "
                     "The augmentations taught SimCLR to ignore exactly those nuisances.")
    return "\n".join(lines)


@st.cache_data(show_spinner="Computing t-SNE (a few seconds)...", max_entries=4)
def tsne(job_id: str, step: int, features: np.ndarray) -> np.ndarray:
    return project.tsne_2d(features)


def render(view: jobs.JobView) -> None:
    h = view.history
    class_names = view.state.get("class_names", [])
    c1, c2 = st.columns(2)
    if h:
        c1.plotly_chart(viz.line_chart(h, ["loss"], "InfoNCE loss"), key=f"{K}.loss_chart")
        c2.plotly_chart(viz.line_chart(h, ["positive_sim", "negative_sim"], "Mean cosine similarity: positives vs negatives"), key=f"{K}.sim_chart")
        first, last = h[0]["loss"], h[-1]["loss"]
        st.caption(f"Text summary: {len(h)} steps so far; loss {first:.3f} → {last:.3f}; positive-pair similarity {h[-1]['positive_sim']:.2f}, negatives {h[-1]['negative_sim']:.2f}.")
    if "embedding" in view.state:
        coords, how = view.state["embedding"], "PCA"
        if not view.active and st.radio("Projection", project.METHODS, horizontal=True, key=f"{K}.projection",
                                        help="PCA is linear and instant; t-SNE keeps neighbours together and shows clusters better.") == "t-SNE":
            coords, how = tsne(view.id, view.state["embedding_step"], view.state["features"]), "t-SNE"
        n = len(coords)
        fig = viz.embedding_scatter(coords, view.state["embedding_labels"], class_names,
                                    f"Encoder features of {n} test images ({how}), step {view.state['embedding_step']} — coloured by the true label SimCLR never saw")
        st.plotly_chart(fig, key=f"{K}.embedding")
    summary = view.state.get("summary")
    if summary:
        st.subheader("Is the representation any good?")
        rows = {
            "SimCLR": {"linear probe": summary["probe_acc"], "kNN (k=20)": summary["knn_acc"]},
            "random-init CNN": {"linear probe": summary["random_init_probe_acc"], "kNN (k=20)": summary["random_init_knn_acc"]},
            "raw pixels": {"linear probe": summary["raw_pixel_probe_acc"], "kNN (k=20)": summary["raw_pixel_knn_acc"]},
        }
        st.plotly_chart(viz.accuracy_bars(rows, f"Held-out test accuracy on {summary['dataset']} (frozen features)"), key=f"{K}.acc")
        st.dataframe(pd.DataFrame(rows).T.style.format("{:.3f}"), key=f"{K}.acc_table")
        ks = sorted(int(k.split("_")[1]) for k in summary if k.startswith("probe_") and k.endswith("_per_class_acc"))
        if ks:
            names = {"SimCLR": "", "random-init CNN": "random_init_", "raw pixels": "raw_pixel_"}
            few = [{"labels per class": k, **{n: summary[f"{p}probe_{k}_per_class_acc"] for n, p in names.items()}} for k in ks]
            st.plotly_chart(viz.line_chart(few, list(names), "Few labels: linear probe trained on k labelled images per class (mean of 3 draws)",
                                           x="labels per class"), key=f"{K}.few")
            st.caption("Text summary: " + "; ".join(f"{r['labels per class']}/class — SimCLR {r['SimCLR']:.2f}, random {r['random-init CNN']:.2f}, pixels {r['raw pixels']:.2f}" for r in few))
        st.markdown(interpretation(summary, summary["dataset"]))
        st.caption(f"{summary['steps']} steps in {summary['seconds']} s. Protocol: frozen features, standardised, L2 logistic regression; "
                   "kNN with cosine similarity, k = 20; the same test split for all three.")


live.job_view(K, render)


st.header("2 · InfoNCE explorer: what does τ do?")


@st.cache_data(show_spinner=False, max_entries=8)
def random_init_snapshot(dataset: str, seed: int) -> dict:
    test = data.load(dataset, "test", seed)
    torch.manual_seed(seed)
    method = methods.create("simclr", dataset, in_channels=test.channels)
    return method.snapshot(test.images[:16], torch.Generator().manual_seed(seed))


job = live.current_job(K)
finished = job.view().state.get("snapshot") if job is not None else None
snap = finished if finished is not None else random_init_snapshot(gs.dataset, gs.seed)
st.caption("Using the views and projections of your **trained** model." if finished is not None
           else "Using a **random-init** network (train above to use your trained one): its similarities are nearly meaningless.")
n = snap["view1"].shape[0]
z1, z2 = snap["z"][:n], snap["z"][n:]
c1, c2 = st.columns([1, 3])
with c1:
    anchor = st.number_input(f"Anchor view (0–{2 * n - 1})", 0, 2 * n - 1, 0, key=f"{K}.anchor",
                             help=f"Views 0–{n - 1} are first views, {n}–{2 * n - 1} the second views of the same {n} images.")
    tau = st.select_slider("Temperature τ", TEMPERATURES, value=0.2, key=f"{K}.tau")
    out = info_nce_anchor(z1, z2, int(anchor), tau)
    views = torch.cat([snap["view1"], snap["view2"]])
    partner = (int(anchor) + n) % (2 * n)
    st.image(viz.tile(views[[int(anchor), partner]], cols=2, scale=4), caption="anchor | its positive")
    st.metric("Loss for this anchor, −log p(positive)", f"{out['loss'].item():.3f}")
    st.metric("p(positive)", f"{out['probability'][out['positive']].item():.3f}", help=f"Chance level: 1/{2 * n - 1} = {1 / (2 * n - 1):.3f}")
    st.caption(f"Batch loss at this τ: {info_nce(z1, z2, tau).item():.3f}")
    negatives = [i for i in out["similarity"].argsort(descending=True).tolist() if i != int(out["positive"])][:4]
    st.image(viz.tile(views[out["others"][negatives]], cols=4, scale=3),
             caption="hardest negatives: " + ", ".join(f"{out['similarity'][i]:.2f}" for i in negatives))
with c2:
    labels = [f"{'v1' if k < n else 'v2'}·{k % n}" for k in out["others"].tolist()]
    st.plotly_chart(viz.similarity_bars(out["similarity"].numpy(), out["probability"].numpy(), int(out["positive"]), labels,
                                        f"Anchor {int(anchor)}: cosine similarity (light) and softmax at τ = {tau:g} (dark)"), key=f"{K}.bars")
    sim = (snap["z"] @ snap["z"].T).numpy()
    st.plotly_chart(viz.similarity_matrix(sim, "All 2N×2N cosine similarities (positives sit on the two off-diagonals)"), key=f"{K}.matrix")
st.caption("Low τ sharpens the softmax: the loss focuses on the hardest negatives. High τ flattens it: all negatives count alike and the loss barely depends on the geometry.")

page.try_this([
    "Train with the default settings on **shapes**, then on **digits**: where does SimCLR beat the random network by most, and in which metric?",
    "Set Augmentations to **none** and train: the two views are identical, the loss drops to almost zero, and the features are no better than random.",
    "In the explorer, move τ from 0.01 to 2: watch the softmax go from one spike to nearly flat, and the loss change.",
    "Set the batch size to 2: each anchor then has only 2 negatives. Compare kNN accuracy with batch 256.",
    "Set the learning rate to 1e12: the weights overflow, the loss becomes NaN and the run stops with a message.",
])
page.knowledge_check(
    K, "In a batch of N = 256 images, how many negatives does each anchor view have in SimCLR's loss?",
    ["255", "510", "511", "256"], 1,
    "2N = 512 views; minus the anchor itself and its positive leaves 2N − 2 = 510 negatives.",
)
