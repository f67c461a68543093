"""Masked autoencoders: patchify, mask, encode the visible patches, reconstruct the rest."""

import streamlit as st
import torch

from sslviz import data, losses, methods, recipes, viz
from sslviz.methods.mae import MAE, masked_count, random_mask
from sslviz.nets import TinyViT, patchify
from sslviz.ui import classroom, live, mae_views, page, settings

K = "mae"
KS, KC = f"{K}.sweep", f"{K}.compare"
RATIOS = [0.1, 0.25, 0.5, 0.6, 0.75, 0.8, 0.9]

page.header(
    "Masked autoencoders (MAE)",
    "Borrowed from language models (BERT hides words and predicts them): cut the image into patches, **hide most of them**, "
    "and train a network to paint the hidden patches back from the few it can see. To do that it must learn what digits and "
    "shapes look like — no labels involved. The encoder is a small **Vision Transformer** that only ever sees the visible patches.",
    ["walk through MAE's four steps: patches, random mask, encoding the visible tokens, decoding the hidden ones",
     "watch reconstructions improve live, and explain why the loss counts only the hidden patches",
     "test the lecture's claim that a high mask ratio (75%) works, with a sweep you run yourself",
     "say what a frozen-feature probe and kNN can and cannot tell you about MAE compared with contrastive methods"],
)
page.formula(
    r"\mathcal{L} = \frac{1}{|M|}\sum_{i\in M} \frac{1}{P}\,\lVert \hat{x}_i - \tilde{x}_i \rVert^2,\qquad "
    r"\tilde{x}_i = \frac{x_i - \mu_i}{\sigma_i}",
    "M is the set of hidden patches, P the number of pixel values per patch, x̂ᵢ the decoder's prediction. With per-patch "
    "normalised targets x̃ (MAE's 'norm pix' option, on by default) the network is graded on shape and contrast, not brightness.",
)

gs = settings.current()
COMPARED = methods.of_family("masked", "contrastive", "non-contrastive", dataset=gs.dataset)
defaults = methods.default_config("mae", gs.dataset)
test_set = data.load(gs.dataset, "test", gs.seed)
image_size = test_set.images.shape[-1]


def divisors(n: int) -> list[int]:
    return [p for p in (2, 4, 7, 8) if n % p == 0 and n // p >= 2]


DEPTHS, WIDTHS, BOOLS = [1, 2, 3, 4, 6], [32, 64, 96, 128], [True, False]
URL_PARAMS = [settings.Param("patch", f"{K}.patch.{gs.dataset}", divisors(image_size)), settings.Param("ratio", f"{K}.ratio", RATIOS),
              settings.Param("depth", f"{K}.depth", DEPTHS), settings.Param("width", f"{K}.width", WIDTHS),
              settings.Param("masked_only", f"{K}.masked_only", BOOLS), settings.Param("norm_pix", f"{K}.norm_pix", BOOLS),
              settings.Param("encode_all", f"{K}.encode_all", BOOLS)]
settings.from_url(URL_PARAMS, K)  # a shared link's settings, once per session
with st.container(border=True):
    st.markdown("**Settings** (the pipeline below and the next training run use them; the address bar links to them)")
    c1, c2, c3, c4 = st.columns(4)
    ctl = classroom.control  # each widget drawn as a class link says (hidden, locked); the first argument is its link parameter
    patch_size = ctl("patch", "Patch size (pixels)", c1.select_slider, divisors(image_size), key=f"{K}.patch.{gs.dataset}", default=defaults.patch_size,
                     help=f"{image_size}×{image_size} images: patch p gives ({image_size}/p)² tokens.", **settings.default(f"{K}.patch.{gs.dataset}", defaults.patch_size))
    ratio = ctl("ratio", "Mask ratio", c2.select_slider, RATIOS, key=f"{K}.ratio", format_func=lambda r: f"{r:.0%}", default=defaults.mask_ratio,
                **settings.default(f"{K}.ratio", defaults.mask_ratio))
    depth = ctl("depth", "Encoder depth (blocks)", c3.select_slider, DEPTHS, key=f"{K}.depth", default=defaults.depth, **settings.default(f"{K}.depth", defaults.depth))
    width = ctl("width", "Encoder width", c4.select_slider, WIDTHS, key=f"{K}.width", default=defaults.width, **settings.default(f"{K}.width", defaults.width))
    c1, c2, c3 = st.columns(3)
    masked_only = ctl("masked_only", "Loss on hidden patches only", c1.toggle, key=f"{K}.masked_only", default=defaults.masked_loss_only,
                      help="Off: the loss also counts the visible patches, which the network can simply copy.",
                      **settings.default(f"{K}.masked_only", defaults.masked_loss_only))
    norm_pix = ctl("norm_pix", "Normalised pixel targets", c2.toggle, key=f"{K}.norm_pix", help="MAE's per-patch normalisation of the targets.",
                   default=defaults.norm_pix_loss, **settings.default(f"{K}.norm_pix", defaults.norm_pix_loss))
    encode_all = ctl("encode_all", "Encoder sees all patches", c3.toggle, key=f"{K}.encode_all", default=False, **settings.default(f"{K}.encode_all", False),
                     help="Replace hidden patches with a mask token instead of dropping them (as BERT does). Same task, 4× more tokens at 75%.")
settings.to_url(URL_PARAMS)
overrides = {"patch_size": patch_size, "mask_ratio": ratio, "depth": depth, "width": width, "masked_loss_only": masked_only,
             "norm_pix_loss": norm_pix, "encoder_input": "all" if encode_all else "visible"}
num_patches = (image_size // patch_size) ** 2
hidden_n = masked_count(num_patches, ratio)

st.header("1 · The pipeline, step by step")
index = st.number_input("Test image", 0, len(test_set) - 1, 0, key=f"{K}.index")
image = test_set.images[int(index)]
job = live.current_job(K)
model = job.view().state.get("model") if job else None
if model is not None and (model.config.patch_size, model.config.in_channels) != (patch_size, test_set.channels):
    model = None  # trained with another patch size or dataset: its reconstructions would not match this grid
keep, hidden = random_mask(1, num_patches, ratio, torch.Generator().manual_seed(int(index) + gs.seed))
tokens = patchify(image.unsqueeze(0), patch_size)[0]  # L×P
visible = tokens[keep[0]].reshape(-1, patch_size, patch_size, test_set.channels).permute(0, 3, 1, 2)
cols = st.columns(4)
page.image(cols[0], viz.patch_grid(image, patch_size), caption=f"① {num_patches} patches of {patch_size}×{patch_size}")
page.image(cols[1], viz.patch_grid(image, patch_size, hidden[0]), caption=f"② mask {ratio:.0%}: {hidden_n} hidden (grey), {num_patches - hidden_n} visible")
if model is not None:
    recon = model.snapshot(image.unsqueeze(0), torch.Generator().manual_seed(int(index) + gs.seed))
    page.image(cols[2], viz.patch_grid(recon["reconstruction"][0], patch_size), caption="④ the decoder's output for every patch")
    page.image(cols[3], viz.patch_grid(recon["pasted"][0], patch_size, None), caption="⑤ hidden patches from the decoder, visible ones pasted back")
else:
    cols[2].info("④ Reconstruction appears here after a training run with these settings (section 2).")
page.image(st, viz.tile(visible, cols=len(visible), scale=6, pad=1), caption=f"③ What the encoder gets: a sequence of {len(visible)} visible patch tokens (each with its position embedding) — "
         f"{'all ' + str(num_patches) + ' tokens when it sees mask tokens too' if encode_all else 'the hidden ones are simply left out'}.")
st.caption(f"Text summary: the image is cut into {num_patches} patches; {hidden_n} ({hidden_n / num_patches:.0%}) are hidden; "
           f"the encoder processes {num_patches if encode_all else num_patches - hidden_n} tokens; the decoder receives all {num_patches} "
           "(visible tokens plus a shared learned mask token at each hidden position) and predicts every patch's pixels.")
if model is not None:
    attention = model.attention(image.unsqueeze(0))[0]
    c1, c2, _ = st.columns([1, 1, 2])
    page.image(c1, viz.patch_grid(image, patch_size), caption="the whole image, no mask")
    page.image(c2, viz.tile((attention / attention.max()).reshape(1, 1, *attention.shape), cols=1, scale=patch_size * 8, pad=0),
             caption="attention each patch receives in the encoder's last block (brighter = more; mean over heads and patches)")
    st.caption(f"Optional view: the trained encoder's attention on this image — the top patch gets {attention.max():.1%} of the attention, "
               f"a uniform spread would give {1 / attention.numel():.1%} each.")
page.show_code(losses.masked_reconstruction_loss, random_mask, MAE.reconstruct, TinyViT.tokens)

st.header("2 · Train live")
st.caption(f"Dataset **{gs.dataset_title}**, seed {gs.seed}, budget {gs.seconds} s, device {gs.device} (sidebar). MAE needs more steps than SimCLR: "
           "give it 60 s for good features.")
live.train_button(K, lambda: recipes.experiment_job("mae", gs.dataset, gs.seconds, gs.seed, gs.device, overrides, live_snapshots=True, label="MAE"),
                  pretrained=("mae", gs.dataset, {"live_snapshots": True, "label": "MAE"}), steps=True)

live.job_view(K, mae_views.render)

st.subheader("Why encode only the visible patches?")
st.markdown(f"At a {ratio:.0%} mask ratio the encoder processes **{num_patches - hidden_n}** instead of **{num_patches}** tokens, and "
            "self-attention costs grow with the square of the token count. Measure one training step both ways on this machine:")


@st.cache_data(show_spinner="Timing 3 training steps each way...", max_entries=8)
def step_times(dataset: str, config: dict, device: str) -> dict[str, float]:
    return recipes.step_seconds("mae", dataset, {mode: {**config, "encoder_input": mode} for mode in ("visible", "all")}, device=device)


timed = {k: v for k, v in overrides.items() if k != "encoder_input"}
if st.button("Time one step: visible only vs all tokens", key=f"{K}.time"):
    st.session_state[f"{K}.times"] = (gs.dataset, timed, step_times(gs.dataset, timed, gs.device))
if st.session_state.get(f"{K}.times", (None, None))[:2] == (gs.dataset, timed):  # stays until a setting changes
    times = st.session_state[f"{K}.times"][2]
    c1, c2, c3 = st.columns(3)
    c1.metric(f"Encoder sees {num_patches - hidden_n} visible tokens", f"{times['visible'] * 1000:.0f} ms/step")
    c2.metric(f"Encoder sees all {num_patches} tokens", f"{times['all'] * 1000:.0f} ms/step")
    c3.metric("Speed-up", f"{times['all'] / times['visible']:.2f}×")
    st.caption(f"Batch of 256 images on device {gs.device} (sidebar), median of 3 steps after a warm-up; forward, backward and update. In a fixed time budget, "
               "the faster variant also gets more steps.")

st.header("3 · Does a high mask ratio really work? Sweep it")
sweep_ratios = st.multiselect("Mask ratios", RATIOS, default=[0.25, 0.5, 0.75, 0.9], key=f"{KS}.ratios", format_func=lambda r: f"{r:.0%}")
sweep_seconds = st.slider("Seconds per ratio", 5, 60, 15, step=5, key=f"{KS}.seconds")
st.caption(f"Trains MAE once per ratio on **{gs.dataset_title}** (seed {gs.seed}, your other settings above), each for {sweep_seconds} s, "
           "then measures reconstruction error on held-out images and the frozen-feature probe and kNN.")
live.comparison(KS, {f"{r:.0%}": ("mae", {**overrides, "mask_ratio": r}) for r in sorted(sweep_ratios)}, gs.dataset, sweep_seconds, gs.seed,
                gs.device, mae_views.render_sweep, label="Run the sweep", empty="Pick at least one mask ratio.")

st.header("4 · MAE vs contrastive encoders, same budget")
picked = st.multiselect("Methods", COMPARED, default=[m for m in ("mae", "simclr", "byol") if m in COMPARED], key=f"{KC}.methods", format_func=methods.title)
compare_seconds = st.slider("Seconds per method", 5, 60, 20, step=5, key=f"{KC}.seconds")
cnns = [m for m in picked if recipes.encoder_width(m, gs.dataset) is not None]
st.caption(f"Each method trains with its tuned defaults on **{gs.dataset_title}**, seed {gs.seed}, {compare_seconds} s. MAE uses a ViT, the others "
           f"{recipes.backbone_note(cnns, gs.dataset) if cnns else 'a small CNN'}: so each is also compared with a random-init copy of its *own* backbone.")
live.comparison(KC, {methods.title(m): run for m, run in recipes.same_settings(picked, gs.dataset).items()}, gs.dataset, compare_seconds, gs.seed, gs.device, mae_views.render_comparison)

page.try_this([
    "Train with the defaults for 60 s on **digits**: watch the grey holes fill in, first with blurry blobs, then with strokes.",
    "Switch off **Loss on hidden patches only** and train again: does the visible-patch error fall towards zero (copying is easy), and do the features improve?",
    "Run the **mask-ratio sweep**: where is the reconstruction error lowest, and where is kNN accuracy highest? Do they agree?",
    "Press **Time one step** at 75% and at 25%: how does the speed-up change with the ratio?",
    "Compare **MAE vs SimCLR** on shapes, then on digits: which method does the frozen-feature probe favour, and why?",
])
page.knowledge_check(
    K, "Why does MAE compute its loss only on the hidden patches?",
    ["To save memory", "Because visible patches can be copied from the input, which teaches nothing", "Because the decoder never sees the visible patches", "To make the loss smaller"], 1,
    "The decoder gets the visible tokens, so reconstructing them is trivial; the learning signal comes from inferring what is missing.",
)
