"""Deep clustering: features → k-means → pseudo-labels → train → repeat (DeepCluster), round by round."""

import numpy as np
import streamlit as st

from sslviz import augment, data, evaluate, methods, recipes, viz
from sslviz.methods import deepcluster
from sslviz.ui import classroom, clustering_views, live, page, settings

K = "cluster"
KC = f"{K}.compare"

page.header(
    "Deep clustering (DeepCluster)",
    "No labels, so invent them: cluster the network's features with **k-means**, call the cluster ids *pseudo-labels*, train the network "
    "to predict them, and cluster again with the improved features. Clusters and features improve each other — if the loop is kept "
    "from cheating. The true labels appear on this page only to **score** the clusters; the method never sees them.",
    ["run the DeepCluster loop round by round and read NMI/ARI curves against the true classes",
     "see which cue the clusters follow (colour or shape) and what Sobel filtering and augmentations change about it",
     "explain the two trivial solutions (empty clusters, a few huge clusters) and the fixes for each",
     "compare k-means on raw pixels, a random network, SimCLR and DeepCluster under one recipe"],
)
page.formula(
    r"\min_{C}\ \sum_{n=1}^{N} \min_{y_n \in \{0,1\}^k,\ \mathbf{1}^\top y_n = 1} \lVert g(f_\theta(x_n)) - C\,y_n \rVert^2 \quad\text{then}\quad "
    r"\min_{\theta, W}\ \frac{1}{N}\sum_{n=1}^{N} \ell\big(W f_\theta(\mathrm{aug}(x_n)),\ y_n\big)",
    "Step 1: k-means on the features gives centroids C (d×k) and a one-hot pseudo-label yₙ per image; g is what DeepCluster does to the features "
    "first — PCA to a few dimensions, whitening, L2-normalisation (switchable below). Step 2: the CNN f and a freshly initialised linear "
    "classifier W learn to predict yₙ (cross-entropy ℓ). Repeat. (Caron et al., 2018)",
)
st.graphviz_chart(viz.method_diagram(methods.spec("deepcluster").diagram))

gs = settings.current()
defaults = methods.default_config("deepcluster", gs.dataset)
train_set = data.load(gs.dataset, "train", gs.seed)

st.header("1 · Train round by round")
STEPS_PER_ROUND, BOOLS = [10, 25, 50, 100, 200], [True, False]
URL_PARAMS = [settings.Param("k", f"{K}.k", range(2, 101)), settings.Param("steps_per_round", f"{K}.steps.{gs.dataset}", STEPS_PER_ROUND),
              *(settings.Param(name, f"{K}.{name}", BOOLS) for name in ("sobel", "whiten", "fix_empty", "uniform"))]
settings.from_url(URL_PARAMS, K)  # a shared link's settings, once per session
with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    k_max = max(2, min(100, len(train_set) // 2))  # k-means needs more points than clusters (a small upload has few)
    if st.session_state.get(f"{K}.k", 0) > k_max:
        st.session_state[f"{K}.k"] = k_max
    ctl = classroom.control  # each widget drawn as a class link says (hidden, locked); the first argument is its link parameter
    k = ctl("k", "Clusters k", c1.slider, 2, k_max, key=f"{K}.k", help=f"{len(train_set.class_names)} true classes; the paper over-clusters (k > classes).",
            default=min(defaults.k, k_max), **settings.default(f"{K}.k", min(defaults.k, k_max)))
    steps_per_round = ctl("steps_per_round", "Steps per round", c2.select_slider, STEPS_PER_ROUND, key=f"{K}.steps.{gs.dataset}",
                          help="Training steps between two clusterings.", default=defaults.steps_per_round,
                          **settings.default(f"{K}.steps.{gs.dataset}", defaults.steps_per_round))
    preset = ctl("augment", "Augmentations", c3.selectbox, ["dataset default"] + list(augment.PRESETS), key=f"{K}.augment", default="dataset default",
                 help=f"'dataset default' is '{defaults.augment}' for {gs.dataset_title}.")
    c1, c2, c3, c4 = st.columns(4)
    sobel = ctl("sobel", "Sobel input", c1.toggle, key=f"{K}.sobel", default=defaults.sobel,
                help="Grey-scale + edge filter before the CNN (as in the paper): colour can no longer drive the clusters.", **settings.default(f"{K}.sobel", defaults.sobel))
    whiten = ctl("whiten", "PCA-whiten features", c2.toggle, key=f"{K}.whiten", help="Whiten + L2-normalise the features before k-means (as in the paper).",
                 default=defaults.whiten, **settings.default(f"{K}.whiten", defaults.whiten))
    fix_empty = ctl("fix_empty", "Refill empty clusters", c3.toggle, key=f"{K}.fix_empty", default=defaults.fix_empty,
                    **settings.default(f"{K}.fix_empty", defaults.fix_empty))
    uniform = ctl("uniform", "Sample uniformly over clusters", c4.toggle, key=f"{K}.uniform", default=defaults.uniform_sampling,
                  help="Off: batches sample images uniformly, so a huge cluster dominates the loss.", **settings.default(f"{K}.uniform", defaults.uniform_sampling))
settings.to_url(URL_PARAMS)
overrides = {"k": k, "steps_per_round": steps_per_round, "sobel": sobel, "whiten": whiten, "fix_empty": fix_empty, "uniform_sampling": uniform}
if preset != "dataset default":
    overrides["augment"] = preset
min_steps = deepcluster.steps_for_rounds(steps_per_round)  # the budget never ends a run before its third clustering
st.caption(f"Dataset **{gs.dataset_title}** ({len(train_set)} training images), seed {gs.seed}, budget {gs.seconds} s, device {gs.device} (sidebar); "
           f"a run lasts at least {min_steps} steps ({deepcluster.LESSON_ROUNDS} clusterings) even if that takes longer than the budget.")
live.train_button(K, lambda: recipes.experiment_job("deepcluster", gs.dataset, gs.seconds, gs.seed, gs.device, overrides, {"min_steps": min_steps},
                                                    track_rounds=True, label="DeepCluster"),
                  pretrained=("deepcluster", gs.dataset, {"label": "DeepCluster", "track_rounds": True}), steps=True)
page.show_code(*methods.spec("deepcluster").code)

live.job_view(K, lambda view: clustering_views.render(view, train_set))

st.header("2 · Trivial solutions, and their fixes")
st.markdown(
    "If the features **collapse** (many images map to the same point), k-means cannot split them: centroids that start on the same point "
    "tie, and all but one end **empty**. The fix refills an empty cluster with the worst-fitting point of the largest splittable cluster. "
    "Try it on this dataset's random-network features with a share of the images forced onto one point:"
)
c1, c2 = st.columns(2)
collapsed = c1.slider("Share of collapsed images", 0.0, 0.99, 0.9, step=0.01, key=f"{K}.collapsed", format="%.2f")
if st.session_state.get(f"{K}.k_demo", 0) > k_max:
    st.session_state[f"{K}.k_demo"] = k_max
k_demo = c2.slider("k", 2, k_max, key=f"{K}.k_demo", **settings.default(f"{K}.k_demo", min(30, k_max)))


@st.cache_data(show_spinner="k-means on random-network features, with and without the fix...", max_entries=16)
def collapse_demo(dataset: str, seed: int, share: float, k: int) -> dict[str, np.ndarray]:
    sizes = evaluate.empty_cluster_demo(recipes.random_init_features("deepcluster", dataset, seed), share, k, seed)
    return {str(fix): counts for fix, counts in sizes.items()}


demo = collapse_demo(gs.dataset, gs.seed, collapsed, k_demo)
c1, c2 = st.columns(2)
for col, fix in ((c1, "False"), (c2, "True")):
    sizes = np.sort(demo[fix])[::-1]
    col.plotly_chart(viz.bars(sizes, range(len(sizes)), f"{'With' if fix == 'True' else 'Without'} the fix: {(sizes == 0).sum()} empty of {k_demo}", "images (log scale)",
                              highlight=list(sizes == 0), log_y=True), key=f"{K}.demo.{fix}")
st.markdown(
    "The second trivial solution: if one cluster holds most images, a network that always answers *that cluster* is mostly right, "
    "and learns nothing. DeepCluster samples each batch **uniformly over pseudo-labels** (then an image in the chosen cluster), so every "
    "cluster weighs the same in the loss. Switch it off above and watch *largest cluster* and the pseudo-label accuracy. "
    "Switch both fixes off and train: the *largest cluster* and *empty clusters* lines show whether this run degenerates. "
    "PCA whitening before k-means also spreads the features; turn it off too, raise k, and compare."
)

st.header("3 · Which features cluster best? One recipe for all")
compare_seconds = st.slider("Training seconds for SimCLR and DeepCluster", 5, 60, 20, step=5, key=f"{KC}.seconds")
st.caption(f"k-means with k = {k}, PCA-whitening to 32 dimensions and seed {gs.seed} on the features of the {len(train_set)} training images of **{gs.dataset_title}**: "
           f"raw pixels, a random-init CNN, SimCLR and DeepCluster (its default settings), each trained for the same time; the three CNNs are "
           f"{recipes.backbone_note(['simclr', 'deepcluster'], gs.dataset)}.")
live.train_button(KC, lambda: recipes.clustering_comparison_job(gs.dataset, compare_seconds, gs.seed, gs.device, k), label="Compare")

live.job_view(KC, clustering_views.render_comparison)

page.try_this([
    "Train with the defaults on **shapes** and watch NMI with the class rise while the galleries turn from mixed shapes into one shape per cluster.",
    "Switch **Sobel input** off and train again on shapes: the galleries now sort by colour. Check the 'NMI with colour' line.",
    "Set augmentations to **none**: does DeepCluster still improve on the random network?",
    "Set k to the number of classes, then to 100: how do NMI, ARI and the galleries change?",
    "In section 2, move the collapsed share from 0 to 0.99 and compare the empty clusters with and without the fix.",
])
page.knowledge_check(
    K, "Why does DeepCluster sample training images uniformly over the pseudo-labels?",
    ["To make k-means faster", "So that a few huge clusters cannot dominate the loss and let the network predict one cluster for everything",
     "Because the true classes are balanced", "To avoid empty clusters"], 1,
    "With a huge cluster and uniform sampling over images, predicting that cluster is a cheap way to a low loss — a trivial solution. "
    "Empty clusters are the other failure, fixed inside k-means.",
)
