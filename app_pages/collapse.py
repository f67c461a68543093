"""Collapse and how to prevent it: five mechanisms side by side, each trained and broken with one click."""

import streamlit as st

from sslviz import diagnostics, methods, recipes, viz
from sslviz.ui import collapse_views, controls, live, page, settings

K = "collapse"
gs = settings.current()
MECHANISMS = methods.by_mechanism(gs.dataset)
EVERYONE = [n for names in MECHANISMS.values() for n in names]

page.header(
    "Collapse and how to prevent it",
    "Every joint-embedding method asks the network to map two views of an image to the same place. The cheapest way to do that is "
    "to map **every** image to the same place — a constant output meets the invariance perfectly and carries no information. "
    "Researchers have found five different ways to rule that out. Here each one trains live, and each can be switched off with one click.",
    ["tell total collapse (one point) from dimensional collapse (a few directions) in the spread and rank charts",
     "name the five mechanisms — negatives, predictor + stop-gradient, centering + sharpening, redundancy reduction, equipartition — "
     "and the methods that use them",
     "predict what removing each mechanism does, then check it against a run",
     "read Barlow Twins' cross-correlation matrix, DINO's attention maps and SwAV's prototypes"],
)
page.formula(
    r"f(x) = c \ \ \forall x \;\Rightarrow\; \lVert f(x_1) - f(x_2)\rVert^2 = 0"
    r"\qquad\text{total collapse: } \operatorname{std}\big(\tfrac{z}{\lVert z\rVert}\big)\sqrt d \to 0"
    r"\qquad\text{dimensional: } \operatorname{erank}(Z) \ll d",
    f"The detector flags **total** collapse when, over the last {diagnostics.COLLAPSE_WINDOW} steps, std × √d of the normalised embedding falls "
    f"below {diagnostics.COLLAPSE_STD_RATIO}, the effective rank below {diagnostics.COLLAPSE_RANK}, or the raw (unnormalised) embedding's std "
    f"below {diagnostics.COLLAPSE_SHRINK:.0%} of its first value, or a softmax output stays uniform (entropy above "
    f"{diagnostics.COLLAPSE_UNIFORM:.0%} of log K); and **dimensional** collapse when the "
    f"effective rank falls below {diagnostics.DIMENSIONAL_RANK_SHARE:.0%} of d.",
)

st.header("1 · Five answers to one question")
st.table(collapse_views.mechanism_table(gs.dataset))
st.caption("From the method registry: each method declares the mechanism that protects it and the settings that remove it.")

st.header("2 · Train each mechanism, then break it")
st.caption(f"Dataset **{gs.dataset_title}**, seed {gs.seed}, device {gs.device} (sidebar). Every run of a mechanism uses "
           f"{recipes.backbone_note(EVERYONE, gs.dataset)}, the same seed and seconds; each method keeps its own tuned batch size and "
           "learning rate (listed under the table).")
seconds = st.slider("Seconds per run", 5, 60, 10, step=5, key=f"{K}.seconds")
tabs = st.tabs(list(MECHANISMS))
for tab, (mechanism, names) in zip(tabs, MECHANISMS.items()):
    with tab:
        st.markdown(f"**{mechanism}** — {methods.COLLAPSE_MECHANISMS[mechanism]}")
        runs = recipes.mechanism_runs(mechanism, gs.dataset)
        for name in names:
            for label, (_, expect) in methods.spec(name).breaks.items():
                st.markdown(f"- *{label}*: {expect}")
        key = f"{K}.{mechanism.replace(' ', '_').replace('+', 'and')}"
        lesson = max((collapse_views.lesson_steps(label) or 0 for label in runs), default=0)  # the broken runs' collapse needs these steps
        live.comparison(key, runs, gs.dataset, seconds, gs.seed, gs.device, collapse_views.render_runs,
                        label=f"Train {len(runs)} runs: {', '.join(runs)} ({seconds} s, at least {lesson} steps each)", min_steps=lesson)

st.header("3 · Look inside one method")
method = controls.method_picker(f"{K}.inside", EVERYONE)
spec = methods.spec(method)
with st.expander(f"How {spec.title} works", expanded=False):
    st.graphviz_chart(viz.method_diagram(spec.diagram))
page.show_code(*spec.code)
with st.expander("Settings", expanded=False):
    overrides, train_overrides = controls.method_settings(f"{K}.inside", method, gs.dataset, train=True)
st.caption(f"{spec.summary} Budget {gs.seconds} s from the sidebar. Barlow Twins shows its cross-correlation matrix live, SwAV its prototypes, "
           "DINO its attention maps with the ViT backbone (Settings → Backbone → vit).")
live.train_button(f"{K}.inside", lambda: recipes.experiment_job(method, gs.dataset, gs.seconds, gs.seed, gs.device, overrides, train_overrides,
                                                                 label=spec.title, live_snapshots=True, snapshot_size=8),
                  pretrained=(method, gs.dataset, {"label": spec.title}), steps=True)
live.job_view(f"{K}.inside", lambda view: collapse_views.look_inside(view, gs.dataset))

st.header("4 · Every mechanism, same budget")
KC = f"{K}.all"
st.caption(f"Trains {', '.join(methods.title(n) for n in EVERYONE)} with their defaults, {seconds} s each (the slider above), seed {gs.seed}, "
           f"{recipes.backbone_note(EVERYONE, gs.dataset)}: which mechanism learns most in a short budget?")
live.comparison(KC, recipes.same_settings(EVERYONE, gs.dataset), gs.dataset, seconds, gs.seed, gs.device, collapse_views.render_runs, label="Compare every mechanism")

page.try_this([
    "In **negatives**, train SimCLR and SimCLR without negatives: does the broken run's spread fall to 0? Which verdict does it get?",
    "In **redundancy reduction**, compare *VICReg, invariance only* with *Barlow Twins, λ = 0*: which one shrinks to a point, and which keeps "
    "its spread but loses rank?",
    "In **centering + sharpening**, compare the two broken DINO runs' teacher-entropy curves with log K: do they fail in the same direction?",
    "Pick DINO in section 3, set the backbone to vit and train: where does the [CLS] token look?",
    "Pick SwAV in section 3 and switch off the equal partition: how many prototypes stay in use?",
])
page.knowledge_check(
    K, "A run's std × √d stays near 0.7 but its effective rank falls to 2 of 64. What happened?",
    ["Nothing: the spread is fine", "Total collapse: every image maps to one point", "Dimensional collapse: the embedding varies along only about two directions",
     "The learning rate is too high"], 2,
    "Spread and rank measure different things: the embedding can vary (std) yet use only a couple of directions (rank). Barlow Twins' and VICReg's "
    "decorrelation terms are there to stop exactly that.",
)
