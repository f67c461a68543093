"""Pretext tasks: autoencoder, rotation, jigsaw, inpainting, colorization — pre-train, then transfer."""

import inspect

import streamlit as st
import torch

from sslviz import data, methods, pretext, recipes, viz
from sslviz.ui import controls, live, page, pretext_views, settings
from sslviz.ui.pretext_views import DEGREES, N_SHOWN

K = "pretext"
KT = f"{K}.transfer"
PSEUDO_LABEL = {
    "autoencoder": "the image itself: the input is the target (denoising: the input is a noisy copy, the target the clean image)",
    "rotation": "the rotation we applied — 0°, 90°, 180° or 270° — so each image yields four labelled examples",
    "jigsaw": "which of the 24 possible orders we shuffled the four tiles into",
    "inpainting": "the pixels we cut out of the image",
    "colorization": "the colours we removed: the input is the grey image, the target the colour image",
}
page.header(
    "Pretext tasks: learn by solving a made-up problem",
    "Invent a task whose labels come **for free from the data**: rebuild the image, guess how it was rotated, solve a jigsaw puzzle, "
    "fill a hole, add the colours back. Solving it well needs some understanding of the images. Afterwards the task is thrown away and "
    "the **encoder is transferred**: a linear probe or kNN on its frozen features tells what it learned.",
    ["name the pseudo-label of five pretext tasks and generate it from an unlabelled batch",
     "watch each task train and read its predictions on held-out images — including where the task itself is ambiguous",
     "explain why the best features sit in a middle or top layer, depending on the task, using the layer-by-layer chart",
     "compare the five encoders under one budget and judge the lecture's point: pretext tasks work, but each is hand-made and task-specific"],
)
page.formula(
    r"\min_{\theta,\phi}\ \mathbb{E}_{x,\,t}\ \ell\big(g_\phi(f_\theta(t(x))),\ y(t, x)\big)",
    "t is a transformation we choose (a rotation, a shuffle, a hole, dropping colour), y(t, x) the pseudo-label it defines, f the encoder "
    "we keep and g a task head we throw away.",
)

gs = settings.current()
TASKS = methods.of_family("pretext")
test_set = data.load(gs.dataset, "test", gs.seed)
demo = test_set.images[:8]
DEMO = len(demo)  # 8, or fewer on a small upload
gen = lambda: torch.Generator().manual_seed(gs.seed)  # noqa: E731  (the same pseudo-labels on every rerun)


def pseudo_label_demo(task: str) -> None:
    """Input and pseudo-label for a small batch, made from the data by the task's own transform."""
    if task == "autoencoder":
        page.image(st, viz.tile(torch.cat([demo, demo]), cols=8, scale=3), caption="input (top) → target (bottom): the same images")
    elif task == "rotation":
        k = torch.randint(0, 4, (DEMO,), generator=gen())
        page.image(st, viz.tile(pretext.rotate(demo, k), cols=8, scale=3), caption="inputs; pseudo-labels: " + ", ".join(DEGREES[i] for i in k.tolist()))
    elif task == "jigsaw":
        perm = torch.randint(0, 24, (DEMO,), generator=gen())
        shuffled = pretext.join_tiles(pretext.shuffle_tiles(pretext.split_tiles(demo, 2), perm), 2)
        page.image(st, viz.tile(torch.cat([shuffled, demo]), cols=8, scale=3),
                 caption="shuffled inputs (top), originals (bottom); pseudo-labels = tile orders: "
                 + ", ".join("".join(str(i) for i in pretext.JIGSAW_PERMUTATIONS[p].tolist()) for p in perm.tolist()))
    elif task == "inpainting":
        mask = pretext.box_masks(DEMO, demo.shape[2], demo.shape[3], round(0.4 * demo.shape[2]), gen())
        page.image(st, viz.tile(torch.cat([demo.masked_fill(mask, 0.5), demo]), cols=8, scale=3), caption="inputs with a hole (top) → targets (bottom): the missing pixels")
    elif task == "colorization":
        page.image(st, viz.tile(torch.cat([pretext.grey(demo).expand_as(demo), demo]), cols=8, scale=3), caption="grey inputs (top) → colour targets (bottom)")

tabs = st.tabs([methods.title(t) for t in TASKS])
for task, tab in zip(TASKS, tabs):
    with tab:
        key = f"{K}.{task}"
        with st.expander(f"How {methods.title(task).lower()} works"):
            st.markdown(f"```text\n{inspect.getmodule(methods.spec(task).cls).__doc__.strip()}\n```")
        st.markdown(f"**The pseudo-label:** {PSEUDO_LABEL.get(task, methods.spec(task).summary)}.")
        if task == "colorization" and test_set.channels == 1:
            st.warning(f"**{gs.dataset_title}** images are grey: there is no colour to predict. Choose **shapes** or **photos** in the sidebar.")
            continue
        pseudo_label_demo(task)
        overrides, _ = controls.method_settings(K, task, gs.dataset, url_prefix=f"{task}.", columns=3)
        page.show_code(methods.spec(task).cls.training_step)
        live.train_button(key, lambda task=task, overrides=overrides: recipes.experiment_job(
            task, gs.dataset, gs.seconds, gs.seed, gs.device, overrides, snapshot_size=N_SHOWN, few_labels=(), score_layers=True, label=methods.title(task)),
            pretrained=(task, gs.dataset, {"snapshot_size": N_SHOWN, "few_labels": (), "score_layers": True, "label": methods.title(task)}), steps=True)
        st.caption(f"Dataset **{gs.dataset_title}**, seed {gs.seed}, budget {gs.seconds} s (sidebar).")
        live.job_view(key, pretext_views.make_render(task, test_set))

st.header("Transfer: which pretext task gives the best encoder?")
transfer_seconds = st.slider("Seconds per task", 5, 60, 15, step=5, key=f"{KT}.seconds")
runnable = [t for t in TASKS if not (t == "colorization" and test_set.channels == 1)]
st.caption(f"Trains {', '.join(methods.title(t) for t in runnable)} one after another on **{gs.dataset_title}**, seed {gs.seed}, {transfer_seconds} s each, "
           "each evaluated at its own transfer layer against a random-init network at the same layer."
           + (" Colorization is left out: digits have no colour." if len(runnable) < len(TASKS) else ""))
live.comparison(KT, {methods.title(t): (t, {}) for t in runnable}, gs.dataset, transfer_seconds, gs.seed, gs.device, pretext_views.render_transfer,
                label="Compare the tasks")

page.try_this([
    "Train **Rotation** on digits, then on shapes: compare the per-class pretext accuracy. Which shapes can never be solved, and why?",
    "Train the **Autoencoder** with latent size 2, then 128: which reconstructs better, and which transfers better?",
    "Set the **Jigsaw** gap to 0: the puzzle gets easier (edges match) — do the features get better or worse?",
    "Move a task's transfer layer from 3 to 1 and back: the layer chart shows where its useful features live.",
    "Run **Compare the tasks** on digits and on shapes: does the ranking stay the same?",
])
page.knowledge_check(
    K, "Why is RotNet a poor pretext task for the shapes dataset?",
    ["The images are too small", "The shapes are drawn at random angles and many are symmetric, so the rotation cannot be inferred from the image",
     "Shapes have colour", "The network is too small"], 1,
    "A pretext task only teaches something if its pseudo-label can be inferred from the content: with no upright pose and symmetric objects, rotation is undecidable.",
)
