"""Contrastive learning: SimCLR, MoCo, BYOL and SimSiam trained live, broken on purpose, compared."""

import inspect

import streamlit as st
import torch

from sslviz import data, methods, recipes, viz
from sslviz.losses import info_nce, info_nce_anchor
from sslviz.ui import contrastive_views, controls, live, page, settings

K = "contrastive"
TEMPERATURES = list(methods.spec("simclr").settings()["temperature"].options)  # the explorer offers SimCLR's τ range
FAMILY = methods.of_family("contrastive", "non-contrastive", dataset=settings.current().dataset)  # every registered method of the two families
# One-click experiments: label -> (method, method settings, training settings, what to expect). Those that remove a method's
# anti-collapse mechanism come from its registry entry (the Collapse page offers the same); the others are this page's.
BREAK_IT = {label: (name, over, {"min_steps": methods.spec(name).break_steps}, expect)  # runs until its collapse can show, however busy the server
            for name in FAMILY for label, (over, expect) in methods.spec(name).breaks.items()} | {
    "BYOL, momentum 0": ("byol", {"momentum": 0.0}, {}, "The target becomes the online net itself (still without gradient). The BYOL paper reports collapse here; "
                         "SimSiam later showed that predictor + stop-gradient suffice. Watch the banner and the spread chart."),
    "SimSiam, no stop-grad, BN kept": ("simsiam", {"stop_gradient": False}, {},
                                       "The paper's Fig. 2 keeps its batch norms and still collapses. Measured here (benchmarks/RESULTS.md, 'SimSiam without "
                                       "stop-gradient', 300 steps): the output batch norm keeps std × √d at 0.4–0.8, but the effective rank falls to 2–6 of 64 "
                                       "and kNN to a random network's level or below — a dimensional collapse. Watch the rank chart."),
    "SimCLR without augmentation": ("simclr", {"augment": "none"}, {}, "The two views are identical: any feature that tells images apart meets the loss. "
                                    "Compare its kNN with the random network's below."),
    "SimCLR, τ = 0.01": ("simclr", {"temperature": 0.01}, {}, "Very low τ: only the hardest negatives count. Watch the loss curve."),
    "SimCLR, τ = 2": ("simclr", {"temperature": 2.0}, {}, "Very high τ: all negatives weigh the same; the loss barely cares about the geometry."),
    "SimCLR, batch 4": ("simclr", {}, {"batch_size": 4}, "Each anchor has only 6 negatives."),
    "SimCLR, batch 512": ("simclr", {}, {"batch_size": 512}, "1,022 negatives per anchor, fewer steps in the same time."),
    "MoCo, batch 4, queue 4096": ("moco", {}, {"batch_size": 4}, "Tiny batches, yet up to 4,096 negatives from the queue — less the earlier keys of each "
                                  "query's own image, which a queue longer than an epoch still holds (the run counts them)."),
}

page.header(
    "Contrastive learning: SimCLR, MoCo, BYOL, SimSiam — live",
    "Given an image x, make two augmented views. The network should map them to **nearby** points (the positive pair) "
    "and, for contrastive methods, keep them **far** from the views of other images (the negatives). No labels anywhere — "
    "yet the embedding can organise itself by class when the augmentations hide everything *but* the class: the run below shows whether it does.",
    ["state the InfoNCE loss and read it as a softmax classification of the positive among negatives",
     "watch a representation form: loss, similarities, alignment/uniformity and a 2-D embedding, live",
     "explain what MoCo's queue and momentum encoder, BYOL's predictor and SimSiam's stop-gradient are for — and break them",
     "judge an SSL encoder honestly against raw pixels and a random network under the same protocol"],
)
page.formula(
    r"\ell_{a} = -\log \frac{\exp(\mathrm{sim}(z_a, z_{a^+})/\tau)}{\sum_{k \neq a} \exp(\mathrm{sim}(z_a, z_k)/\tau)},"
    r"\qquad \mathrm{sim}(u,v)=\frac{u^\top v}{\lVert u\rVert\,\lVert v\rVert},\qquad \mathcal{L}=\frac{1}{2N}\sum_{a=1}^{2N}\ell_a",
    "For each of the 2N views a in a batch of N images: its positive a⁺ is the other view of the same image, and the other 2N−2 views are negatives. "
    "The lecture writes the views as x⁺ and x⁻: x⁺ is the other view of the same image, the x⁻ are views of other images.",
)

gs = settings.current()
st.header("1 · Train live")
method = controls.method_picker(K, FAMILY)
spec = methods.spec(method)
with st.expander(f"How {spec.title} works", expanded=False):
    if spec.diagram:
        st.graphviz_chart(viz.method_diagram(spec.diagram))
    st.markdown(f"```text\n{(inspect.getmodule(spec.cls).__doc__ or spec.summary).strip()}\n```")
page.show_code(*spec.code)
with st.expander("Settings", expanded=False):
    overrides, train_overrides = controls.method_settings(K, method, gs.dataset, train=True)
st.caption(f"Dataset **{gs.dataset_title}**, seed {gs.seed}, budget {gs.seconds} s, device {gs.device} (change them in the sidebar). "
           "Changing a setting during a run does not affect it: the next run uses it. The address bar holds all of these: share it to share the setup.")


def experiment_target(name: str, method_overrides: dict, train_overrides: dict, label: str):
    return recipes.experiment_job(name, gs.dataset, gs.seconds, gs.seed, gs.device, method_overrides, train_overrides, label=label, neighbours=True)


live.train_button(K, lambda: experiment_target(method, overrides, train_overrides, spec.title), pretrained=(method, gs.dataset, {"label": spec.title, "neighbours": True}),
                 steps=True)
st.markdown("**Break it — one click each** (uses the sidebar budget and this method's other defaults):")
cols = st.columns(3)
for i, (label, (name, m_over, t_over, _)) in enumerate(BREAK_IT.items()):
    if cols[i % 3].button(label, key=f"{K}.break.{i}", disabled=live.is_active(K), use_container_width=True):
        live.start(K, experiment_target(name, m_over, t_over, label))


live.job_view(K, lambda view: contrastive_views.render(view, {label: run[3] for label, run in BREAK_IT.items()}))


st.header("2 · InfoNCE explorer: what does τ do?")


@st.cache_data(show_spinner=False, max_entries=8)
def random_init_snapshot(dataset: str, seed: int) -> dict:
    return recipes.random_init_snapshot("simclr", dataset, seed)


@st.cache_data(show_spinner="Loading the shipped SimCLR model...", max_entries=8)
def shipped_snapshot(dataset: str, seed: int, sha: str) -> dict:
    """The shipped SimCLR checkpoint's views and projections: a first view whose softmax means something (``sha`` keys the cache)."""
    return recipes.model_snapshot(live.pretrained_model("simclr", dataset), data.load(dataset, "test", seed), seed)


job = live.current_job(K)
job_view = job.view() if job is not None else None
finished = job_view.state.get("snapshot") if job_view is not None else None
checkpoint = live.shipped(gs.dataset).get("simclr")
if finished is not None:
    snap = finished
elif checkpoint is not None:
    snap = shipped_snapshot(gs.dataset, gs.seed, checkpoint["sha256"])
else:
    snap = random_init_snapshot(gs.dataset, gs.seed)
if finished is not None and job_view.active:
    st.caption(f"Using the views and projections of your run **paused after step {finished['step']}**: press Step above and watch them change."
               if job.gate.paused else f"Using your run's views and projections from step {finished['step']}, when it was last paused; "
                                       "the trained model's replace them when the run ends.")
else:
    st.caption("Using the views and projections of your **trained** model." if finished is not None
               else f"Using the **shipped SimCLR model** (models/, {checkpoint['steps']} steps on {gs.dataset_title}) until you train your own above; "
                    "press Step above to watch a fresh network learn one step at a time." if checkpoint is not None
               else "Using a **random-init** network (no model is shipped for this dataset; train above to use your trained one, or press Step "
                    "to watch it learn one step at a time): its similarities are nearly meaningless.")
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
    page.image(st, viz.tile(views[[int(anchor), partner]], cols=2, scale=4), caption="anchor | its positive")
    st.metric("Loss for this anchor, −log p(positive)", f"{out['loss'].item():.3f}")
    st.metric("p(positive)", f"{out['probability'][out['positive']].item():.3f}", help=f"Chance level: 1/{2 * n - 1} = {1 / (2 * n - 1):.3f}")
    st.caption(f"Batch loss at this τ: {info_nce(z1, z2, tau).item():.3f}")
    negatives = [i for i in out["similarity"].argsort(descending=True).tolist() if i != int(out["positive"])][:4]
    page.image(st, viz.tile(views[out["others"][negatives]], cols=4, scale=3),
             caption="hardest negatives: " + ", ".join(f"{out['similarity'][i]:.2f}" for i in negatives))
with c2:
    labels = [f"{'v1' if k < n else 'v2'}·{k % n}" for k in out["others"].tolist()]
    st.plotly_chart(viz.similarity_bars(out["similarity"].numpy(), out["probability"].numpy(), int(out["positive"]), labels,
                                        f"Anchor {int(anchor)}: cosine similarity (light) and softmax at τ = {tau:g} (dark)"), key=f"{K}.bars")
    sim = (snap["z"] @ snap["z"].T).numpy()
    pairs = [(i, (i + n) % (2 * n)) for i in range(2 * n)]
    st.plotly_chart(viz.similarity_matrix(sim, "All 2N×2N cosine similarities of the batch (outlined: the positive pairs)", pairs), key=f"{K}.matrix")
st.caption("Low τ sharpens the softmax: the loss focuses on the hardest negatives. High τ flattens it: all negatives count alike and the loss barely depends on the geometry.")


st.header("3 · Compare the family, same budget, seed and backbone")
KC = f"{K}.compare"
compare_seconds = st.slider("Seconds per method", 5, 60, 15, step=5, key=f"{KC}.seconds")
st.caption(f"Trains {', '.join(methods.title(m) for m in FAMILY)} one after another on **{gs.dataset_title}** with seed {gs.seed}, "
           f"{recipes.backbone_note(FAMILY, gs.dataset)}, each method's tuned settings and {compare_seconds} s each, then evaluates all of them "
           "the same way.")
live.comparison(KC, recipes.same_settings(FAMILY, gs.dataset), gs.dataset, compare_seconds, gs.seed, gs.device, contrastive_views.render_comparison,
                label="Compare the family")

page.try_this([
    "Train SimCLR with the defaults on **shapes**, then on **digits**: where does it beat the random network by most, and in which metric?",
    "Click **SimSiam without stop-gradient**: watch the effective rank and std fall and the collapse banner appear. Then train SimSiam normally, "
    "and try the variant that keeps the output batch norm.",
    "Click **BYOL without predictor** and compare its uniformity curve with normal BYOL's.",
    "Set the projection dim to 2 and train SimCLR: the final circle shows how uniformity spreads the classes around it.",
    "Compare **SimCLR, batch 4** with **MoCo, batch 4, queue 4096**: the queue gives MoCo negatives that the tiny batch cannot.",
    "In the explorer, move τ from 0.01 to 2: the softmax goes from one spike to nearly flat.",
])
page.knowledge_check(
    K, "BYOL and SimSiam use no negatives. What stops them from mapping every image to the same point?",
    ["A large batch size", "The predictor plus a target that receives no gradient (stop-gradient / moving average)", "The temperature τ", "Nothing: they always collapse"], 1,
    "Take away the predictor or the stop-gradient and the trivial constant solution appears — the break-it buttons above show it.",
)
