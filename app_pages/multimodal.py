"""Multi-modal SSL: pair images with text (CLIP, VirTex), video, depth and sound."""

import streamlit as st

from sslviz import losses, methods
from sslviz.methods.clip import CLIP
from sslviz.methods.crossmodal import CrossModal
from sslviz.ui import multimodal_views as views
from sslviz.ui import page, settings

K, DATASET = views.K, views.DATASET

page.header(
    "Multi-modal SSL",
    "The world comes with more than pixels: images arrive with **captions, video, depth and sound**. Each pairing is free supervision — "
    "the other modality says what in the image matters, and nobody had to label anything. The lecture's centrepiece is **language**: "
    "one caption names the shape, colour, size and position at once (*semantic density*), words describe anything (*universality*), "
    "and the web holds billions of captioned images (*scalability*). Train each pairing live below, on generated shapes.",
    ["explain CLIP's symmetric contrastive loss and read its image–text similarity matrix",
     "classify images zero-shot by typing prompts, and retrieve images from text and text from images",
     "say what each partner modality teaches the image encoder (depth has no colour; sound has no position)",
     "show with evidence why language is a rich teacher: compare what CLIP's and SimCLR's features keep"],
)
page.formula(
    r"\mathcal{L}_{\text{CLIP}} = \frac{1}{2N}\sum_{i=1}^{N}\Big[-\log\frac{e^{s\,u_i\cdot v_i}}{\sum_j e^{s\,u_i\cdot v_j}}"
    r"-\log\frac{e^{s\,u_i\cdot v_i}}{\sum_j e^{s\,u_j\cdot v_i}}\Big]",
    "uᵢ: unit image embedding, vᵢ: unit embedding of its caption (or depth map, or sound), s = 1/τ a learned scale. The first term finds "
    "each image's caption among the batch's captions, the second each caption's image. Video pairs frames of one clip with the SimCLR loss instead.",
)
page.show_code(losses.clip_loss, CrossModal.training_step, CLIP.zero_shot)

gs = settings.current()
if gs.dataset != DATASET:
    st.info(f"Captions, clips, depth maps and sounds are generated for the **{DATASET}** images, so this page uses {DATASET} (seed {gs.seed}) "
            f"whatever the sidebar's dataset (now {gs.dataset_title}). The seed, device and budget still apply.", icon=":material/info:")
scene = views.Scene.of(gs)
names = methods.of_family("multi-modal", dataset=DATASET)
for tab, name in zip(st.tabs(views.tab_titles(names)), names):
    with tab:
        views.render_tab(scene, name)

page.try_this([
    "Train **CLIP** for 60 s, then type prompts: “a circle / a square / a triangle / a cross”, then colours (“something red”, …), then sizes (“a small”, “a large”).",
    f"Search for a held-out combination such as “a purple cross”: CLIP never saw one ({scene.unseen}). Does it still find them?",
    "Type a word the captions never use (“dog”): the page names the unknown words — a tiny vocabulary is the price of a tiny model.",
    "Compare **CLIP and SimCLR** in “Why language?”: which attributes does SimCLR lose, and which augmentation removed each?",
    "Train **RGB ↔ depth** and **audio-visual**, then check their retrieval: which mistakes does each make, and which attributes can they not see?",
])
page.knowledge_check(
    K, "CLIP classifies an image zero-shot. Where do the classifier's weights come from?",
    ["From a linear probe trained on labelled images", "From the text encoder's embeddings of the prompts", "From k-means on the image features", "From the temperature τ"], 1,
    "Each class's weight vector is the embedding of its prompt, so changing the prompts changes the classifier — no labelled images needed.",
)
