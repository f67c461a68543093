"""Home: what self-supervised learning is, its variants, and a map of the app."""

import streamlit as st

st.title("sslviz — self-supervised learning you can watch")
st.markdown(
    "Labels are expensive; images are cheap. **Self-supervised learning (SSL)** trains a network on "
    "*pseudo-labels made from the data itself*, then reuses what it learned for real tasks. Every page "
    "here trains a small model **live, in seconds, on your machine** and shows what it learns."
)

st.info("Start with **Augmentations** to see the views, **Pretext tasks** for the first family of methods, then **Contrastive learning**. The sidebar sets the dataset, seed, device and training budget for every page.", icon=":material/arrow_forward:")

cols = st.columns(3)
cols[0].markdown("#### Supervised\nData **(x, y)**: learn x → y from human labels. Powerful, but labelling millions of images is slow and costly.")
cols[1].markdown("#### Unsupervised\nData **x** only: find hidden structure (clusters, low dimensions). Scales, but is under-constrained: what should it find?")
cols[2].markdown("#### Self-supervised\nData **x** only, but turned into a supervised problem: predict part of x from another part, or tell views of the same x apart from others.")

st.subheader("Three variants (from the lecture)")
st.markdown(
    "- **Self-supervised prediction** — predict part of the data from other parts: rotation, jigsaw, inpainting, colorization, masked patches (MAE).\n"
    "- **Contrastive learning** — pull two augmented views of the same image together and push other images away (SimCLR, MoCo, CLIP). "
    "BYOL and SimSiam keep the pull without the push: they are *non-contrastive* (no negatives), and so are Barlow Twins and VICReg "
    "(redundancy reduction), DINO (self-distillation) and SwAV (online clustering with prototypes).\n"
    "- **Weak supervision** — use indirect or noisy labels from heuristics, other models or web text (e.g. captions)."
)

st.subheader("Map of the app")
st.caption("Each page is one lecture topic; open it with its link. The sidebar's settings (dataset, seed, device, budget) hold for every page.")
MAP = [  # page file, lecture topic, what you do there; each link shows the page's title and icon from app.py's navigation
    ("app_pages/augmentations.py", 'Contrastive learning: the views',
     "Make the views SSL learns from; set each augmentation's strength; upload your own image."),
    ("app_pages/pretext.py", 'Pretext tasks',
     'Train an autoencoder, RotNet, a jigsaw solver, an inpainter and a colourizer live; see their pseudo-labels, predictions and mistakes; find the layer whose features transfer; compare the five encoders.'),
    ("app_pages/contrastive.py", 'Contrastive learning, InfoNCE; SimCLR, MoCo; non-contrastive BYOL, SimSiam',
     'Train SimCLR, MoCo, BYOL or SimSiam live; watch the loss, alignment/uniformity and the embedding; break them on purpose (collapse); compare them with raw pixels, a random network and each other; see what the temperature τ does.'),
    ("app_pages/collapse.py", 'Why non-contrastive methods do not collapse',
     "Train the five mechanisms — negatives, predictor + stop-gradient (BYOL, SimSiam), centering + sharpening (DINO), redundancy reduction (Barlow Twins, VICReg), equipartition (SwAV) — and break each with one click; tell total from dimensional collapse; see Barlow Twins' correlation matrix, DINO's attention maps and SwAV's prototypes."),
    ("app_pages/mae.py", 'Masked Autoencoders (MAE)',
     'Patchify, mask 75%, encode only the visible patches with a tiny ViT, reconstruct the rest — live; sweep the mask ratio; time visible-only encoding; compare with contrastive encoders.'),
    ("app_pages/clustering.py", 'Deep Clustering',
     'Run DeepCluster round by round: clusters, galleries, NMI/ARI against the true classes; switch off the fixes for empty and huge clusters; compare k-means on pixels, random, SimCLR and DeepCluster features.'),
    ("app_pages/multimodal.py", 'Multi-modal SSL; why language',
     'Pair images with captions (CLIP, VirTex), video, depth and sound, and train each live; classify zero-shot with prompts you type; search images by text; caption unseen combinations; see what a caption teaches that augmentations cannot.'),
    ("app_pages/downstream.py", 'Why SSL: labels are expensive; weak supervision',
     'Give encoders 1%…100% of the labels: label-efficiency curves of probe and fine-tuning vs the same CNN from scratch, a leaderboard, which attributes each encoder keeps, and many noisy labels vs a few clean ones.'),
]
for path, topic, what in MAP:
    link, text = st.columns([1, 3], vertical_alignment="center")
    link.page_link(path)
    text.markdown(f"*{topic}* — {what}")
st.caption("Short of time (projecting in class)? On shapes, every page with a model has **Use pretrained** beside Train live: a shipped model, "
           "shown at once with the same views. Finished runs can be exported as a zip and imported again; the address bar is a link to the current settings.")

st.subheader("A 45-minute lecture path")
st.caption("For a lecturer with a projector: each stop opens its page in presenter mode with the settings it needs. "
           "Build your own with “Make a link for your class” in the sidebar of any page (hide controls, lock the rest).")
PATH = [  # minutes, page, what to show there, the link's settings (presenter mode is added to each)
    ("0–5", "app_pages/augmentations.py", "Show sixteen random views of one image; move the crop to 0.2 and ask what a network must ignore to match them.",
     {"dataset": "shapes"}),
    ("5–12", "app_pages/pretext.py", "Rotation: press Use pretrained, then read the confident mistakes — which images have no “upright”?",
     {"dataset": "digits"}),
    ("12–22", "app_pages/contrastive.py", "Press Step a few times and read InfoNCE on one batch; then Train live for 30 s and compare the probe with raw pixels and a random network.",
     {"dataset": "shapes", "seconds": "30", "method": "simclr"}),
    ("22–28", "app_pages/collapse.py", "Break one mechanism with its button and let the class say whether the verdict is total or dimensional collapse.",
     {"dataset": "shapes"}),
    ("28–34", "app_pages/mae.py", "Mask 75% of the patches, train, and look at what the decoder fills in for the hidden ones.",
     {"dataset": "shapes", "ratio": "0.75"}),
    ("34–40", "app_pages/multimodal.py", "CLIP: press Use pretrained and let students type prompts; a held-out combination tests composition.",
     {}),
    ("40–45", "app_pages/downstream.py", "The label-efficiency question: what does pre-training buy with 1% of the labels? Its preset takes about five minutes.",
     {"dataset": "digits"}),
]
for minutes, path, show, params in PATH:
    when, link, text = st.columns([1, 3, 8], vertical_alignment="center")
    when.markdown(f"**{minutes} min**")
    link.page_link(path, query_params={**params, "present": "1"}, help="Opens in presenter mode with these settings.")
    text.markdown(show)
