"""Pretext tasks: autoencoder, rotation, jigsaw, inpainting, colorization — pre-train, then transfer."""

import inspect

import numpy as np
import pandas as pd
import streamlit as st
import torch

from sslviz import data, jobs, methods, pretext, recipes, viz
from sslviz.ui import controls, live, page, settings

K = "pretext"
KT = f"{K}.transfer"
PSEUDO_LABEL = {
    "autoencoder": "the image itself: the input is the target (denoising: the input is a noisy copy, the target the clean image)",
    "rotation": "the rotation we applied — 0°, 90°, 180° or 270° — so each image yields four labelled examples",
    "jigsaw": "which of the 24 possible orders we shuffled the four tiles into",
    "inpainting": "the pixels we cut out of the image",
    "colorization": "the colours we removed: the input is the grey image, the target the colour image",
}
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
gen = lambda: torch.Generator().manual_seed(gs.seed)  # noqa: E731  (the same pseudo-labels on every rerun)


def pseudo_label_demo(task: str) -> None:
    """Input and pseudo-label for a small batch, made from the data by the task's own transform."""
    if task == "autoencoder":
        st.image(viz.tile(torch.cat([demo, demo]), cols=8, scale=3), caption="input (top) → target (bottom): the same images")
    elif task == "rotation":
        k = torch.randint(0, 4, (8,), generator=gen())
        st.image(viz.tile(pretext.rotate(demo, k), cols=8, scale=3), caption="inputs; pseudo-labels: " + ", ".join(DEGREES[i] for i in k.tolist()))
    elif task == "jigsaw":
        perm = torch.randint(0, 24, (8,), generator=gen())
        shuffled = pretext.join_tiles(pretext.shuffle_tiles(pretext.split_tiles(demo, 2), perm), 2)
        st.image(viz.tile(torch.cat([shuffled, demo]), cols=8, scale=3),
                 caption="shuffled inputs (top), originals (bottom); pseudo-labels = tile orders: "
                 + ", ".join("".join(str(i) for i in pretext.JIGSAW_PERMUTATIONS[p].tolist()) for p in perm.tolist()))
    elif task == "inpainting":
        mask = pretext.box_masks(8, demo.shape[2], demo.shape[3], round(0.4 * demo.shape[2]), gen())
        st.image(viz.tile(torch.cat([demo.masked_fill(mask, 0.5), demo]), cols=8, scale=3), caption="inputs with a hole (top) → targets (bottom): the missing pixels")
    elif task == "colorization":
        st.image(viz.tile(torch.cat([pretext.grey(demo).expand_as(demo), demo]), cols=8, scale=3), caption="grey inputs (top) → colour targets (bottom)")


def predictions(task: str, snap: dict) -> None:
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
        st.image(viz.tile(shown[:16], cols=8, scale=3), caption="held-out inputs; true → predicted (confidence): " + "; ".join(describe(i) for i in range(16)))
        per_class = {names[c]: float((~wrong[labels == c]).mean()) for c in np.unique(labels)}
        st.plotly_chart(viz.bars(list(per_class.values()), list(per_class), f"Pretext accuracy per class on {len(labels)} held-out images", "accuracy"),
                        key=f"{K}.{task}.per_class")
        if wrong.any():
            idx = np.flatnonzero(wrong)[np.argsort(-conf.numpy()[wrong])][:8]
            st.image(viz.tile(shown[torch.from_numpy(idx)], cols=8, scale=3),
                     caption="the most confident mistakes — " + "; ".join(f"{names[labels[i]]}: {describe(i)}" for i in idx))
        if task == "rotation" and gs.dataset == "shapes":
            st.info("Rotation cannot work here, for two reasons. The shapes dataset already draws every shape at a **random angle**, so there is no "
                    "upright orientation to recover. And a circle looks the same at every angle, a square and a cross after every quarter turn: "
                    "for them the pseudo-label is **undecidable** (best possible accuracy 25%). Rotation needs data with a canonical orientation, like digits.")
        if task == "rotation" and gs.dataset == "digits":
            st.info("Look for 0, 1 and 8 among the mistakes: turned by 180° they are still (almost) the same digit, and a 6 upside down is a 9.")
        return
    rows = {"autoencoder": ("original", "input", "pred"), "inpainting": ("original", "input", "pasted"), "colorization": ("input", "pred", "original")}[task]
    titles = {"autoencoder": "original · input · reconstruction", "inpainting": "original · with hole · hole filled by the network",
              "colorization": "grey input · predicted colours · true colours"}[task]

    def grid(index) -> torch.Tensor:  # the rows for the chosen images; grey inputs shown as RGB beside colour images
        return torch.cat([snap[r][index].expand(-1, test_set.channels, -1, -1) for r in rows])

    st.image(viz.tile(grid(slice(0, 8)), cols=8, scale=3), caption=f"Held-out images, rows: {titles}")
    error = ((snap["pred"] - snap["original"]) ** 2).flatten(1).mean(1)
    worst = error.argsort(descending=True)[:8]
    st.image(viz.tile(grid(worst), cols=8, scale=3),
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


def make_render(task: str):
    def render(view: jobs.JobView) -> None:
        h = view.history
        if h:
            metric = [key for key in h[-1] if key not in ("loss", "step", "seconds")]
            c1, c2 = st.columns(2)
            c1.plotly_chart(viz.line_chart(h, ["loss"], "Pretext loss"), key=f"{K}.{task}.loss")
            c2.plotly_chart(viz.line_chart(h, metric, "Pretext metric"), key=f"{K}.{task}.metric")
            st.caption(f"Text summary: {len(h)} steps; loss {h[0]['loss']:.3f} → {h[-1]['loss']:.3f}; " + ", ".join(f"{m} {h[-1][m]:.3f}" for m in metric) + ".")
        if view.state.get("summary") and "snapshot" in view.state:
            st.markdown("**What the network predicts on held-out images**")
            predictions(task, view.state["snapshot"])
        if "layers" in view.state:
            layer_chart(task, view.state["layers"])
        s = view.state.get("summary")
        if s:
            rows = {methods.title(task): {"linear probe": s["probe_acc"], "kNN (k=20)": s["knn_acc"]},
                    "random init (same block)": {"linear probe": s["random_init_probe_acc"], "kNN (k=20)": s["random_init_knn_acc"]},
                    "raw pixels": {"linear probe": s["raw_pixel_probe_acc"], "kNN (k=20)": s["raw_pixel_knn_acc"]}}
            st.plotly_chart(viz.accuracy_bars(rows, f"Transfer: held-out accuracy on {s['dataset']} from block {s['config']['transfer_layer']} (frozen)"), key=f"{K}.{task}.acc")
            if s["knn_acc"] <= s["random_init_knn_acc"]:
                st.warning(f"**{methods.title(task)} did not beat the random network on {s['dataset']}** (kNN {s['knn_acc']:.3f} vs {s['random_init_knn_acc']:.3f} at block "
                           f"{s['config']['transfer_layer']}). " + WHY_IT_FAILS.get((task, s["dataset"]), "At this budget and block the pretext features are no better "
                                                                                   "than random ones: check the layer chart, or train longer."))
            st.caption(f"{s['steps']} steps in {s['seconds']} s. Protocol: frozen features, L2 logistic regression; kNN with cosine similarity, k = 20.")

    return render


tabs = st.tabs([methods.title(t) for t in TASKS])
for task, tab in zip(TASKS, tabs):
    with tab:
        key = f"{K}.{task}"
        with st.expander(f"How {methods.title(task).lower()} works"):
            st.markdown(f"```text\n{inspect.getmodule(methods.spec(task).cls).__doc__.strip()}\n```")
        st.markdown(f"**The pseudo-label:** {PSEUDO_LABEL.get(task, methods.spec(task).summary)}.")
        if task == "colorization" and test_set.channels == 1:
            st.warning(f"**{gs.dataset}** images are grey: there is no colour to predict. Choose **shapes** or **photos** in the sidebar.")
            continue
        pseudo_label_demo(task)
        overrides, _ = controls.method_settings(K, task, gs.dataset, url_prefix=f"{task}.", columns=3)
        page.show_code(methods.spec(task).cls.training_step)
        live.train_button(key, lambda task=task, overrides=overrides: recipes.experiment_job(
            task, gs.dataset, gs.seconds, gs.seed, gs.device, overrides, snapshot_size=N_SHOWN, few_labels=(), score_layers=True, label=methods.title(task)),
            pretrained=(task, gs.dataset, {"snapshot_size": N_SHOWN, "few_labels": (), "score_layers": True, "label": methods.title(task)}))
        st.caption(f"Dataset **{gs.dataset}**, seed {gs.seed}, budget {gs.seconds} s (sidebar).")
        live.job_view(key, make_render(task))

st.header("Transfer: which pretext task gives the best encoder?")
transfer_seconds = st.slider("Seconds per task", 5, 60, 15, step=5, key=f"{KT}.seconds")
runnable = [t for t in TASKS if not (t == "colorization" and test_set.channels == 1)]
st.caption(f"Trains {', '.join(methods.title(t) for t in runnable)} one after another on **{gs.dataset}**, seed {gs.seed}, {transfer_seconds} s each, "
           "each evaluated at its own transfer layer against a random-init network at the same layer."
           + (" Colorization is left out: digits have no colour." if len(runnable) < len(TASKS) else ""))
live.train_button(KT, lambda: recipes.comparison_job({methods.title(t): (t, {}) for t in runnable}, gs.dataset, transfer_seconds, gs.seed, gs.device), label="Compare the tasks")


def render_transfer(view: jobs.JobView) -> None:
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
        task = next(t for t in TASKS if methods.title(t) == label)
        if r["knn_acc"] <= r["random_init_knn_acc"]:
            st.warning(f"**{label}** does not beat its random network here (kNN {r['knn_acc']:.3f} vs {r['random_init_knn_acc']:.3f}). "
                       + WHY_IT_FAILS.get((task, r["dataset"]), "At this budget and block its features are no better than random ones."))
    best = table["kNN gain"].idxmax()
    st.markdown(
        f"Best gain over its random network here: **{best}** ({table.loc[best, 'kNN gain']:+.3f} kNN). The spread between tasks — and the fact that "
        "the ranking changes with the dataset (rotation is hopeless on symmetric shapes, colorization impossible on grey digits) — is the lecture's point: "
        "each pretext task is **hand-designed** for a kind of data, and what it teaches is **specific** to that task. Contrastive learning "
        "replaced this tinkering with one general recipe."
    )


live.job_view(KT, render_transfer)

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
