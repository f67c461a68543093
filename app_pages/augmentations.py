"""Augmentations: the views self-supervised learning learns from."""

import streamlit as st
import torch

from sslviz import augment, data, viz
from sslviz.data.uploads import UPLOAD_TYPES, ImageError, decode_image, to_tensor
from sslviz.ui import page, settings

K = "aug"
UPLOAD_SIZE = 96
SLIDERS = {  # widget -> (label, min, max, step, help)
    "crop": ("Crop: smallest area kept", 0.05, 1.0, 0.05, "Random resized crop keeps between this fraction and all of the image. Smaller = harder views."),
    "flip": ("Horizontal flip probability", 0.0, 1.0, 0.1, "Mirror the image left-right."),
    "rotation": ("Rotation (± degrees)", 0.0, 180.0, 5.0, "Rotate by a random angle in ±this range."),
    "jitter_p": ("Colour jitter probability", 0.0, 1.0, 0.1, "How often brightness/contrast/saturation/hue change."),
    "jitter": ("Colour jitter strength", 0.0, 1.0, 0.05, "Brightness, contrast and saturation vary by ±this; hue by a quarter of it."),
    "greyscale": ("Greyscale probability", 0.0, 1.0, 0.1, "Drop colour completely."),
    "blur": ("Gaussian blur probability", 0.0, 1.0, 0.1, "Blur with a random sigma (0.1–1.5 px)."),
    "solarize": ("Solarize probability", 0.0, 1.0, 0.1, "Invert the bright pixels."),
    "erase": ("Random erasing (cutout) probability", 0.0, 1.0, 0.1, "Black out a random rectangle."),
}


def values_from(config: augment.AugmentConfig) -> dict[str, float]:
    return {
        "crop": config.crop_scale[0], "flip": config.flip_p, "rotation": config.rotation, "jitter_p": config.jitter_p,
        "jitter": max(config.brightness, config.contrast, config.saturation), "greyscale": config.greyscale_p,
        "blur": config.blur_p, "solarize": config.solarize_p, "erase": config.erase_p,
    }


def apply_preset() -> None:
    for name, value in values_from(augment.preset(st.session_state[f"{K}.preset"])).items():
        st.session_state[f"{K}.{name}"] = float(value)


@st.cache_data(max_entries=32, show_spinner="Reading the image...")
def decoded(payload: bytes, name: str) -> torch.Tensor | str:
    """An uploaded file as a 1×3×S×S tensor, or the specific reason it cannot be used (cached: reruns do not decode again)."""
    try:
        return to_tensor(decode_image(payload, name), UPLOAD_SIZE)
    except ImageError as err:
        return str(err)


def config_from(v: dict[str, float]) -> augment.AugmentConfig:
    v = {k: round(float(x), 4) for k, x in v.items()}  # sliders give 0.15000000000000002
    j = v["jitter"]
    return augment.AugmentConfig(
        crop_scale=(v["crop"], 1.0), flip_p=v["flip"], rotation=v["rotation"], jitter_p=v["jitter_p"],
        brightness=j, contrast=j, saturation=j, hue=j / 4, greyscale_p=v["greyscale"],
        blur_p=v["blur"], solarize_p=v["solarize"], erase_p=v["erase"],
    )


page.header(
    "Augmentations: making the views",
    "Contrastive methods never see a label. What they learn is decided by **which changes to an image they are told to ignore**: "
    "two random augmentations of the same image form a *positive pair* that the network must map to nearby points.",
    ["say which image properties each augmentation hides from the network",
     "predict what an encoder becomes invariant to from its augmentation pipeline",
     "explain why SimCLR found crop + colour jitter to be the essential pair"],
)

gs = settings.current()
left, right = st.columns([1, 2])
with left:
    source = st.radio("Image", ["From the dataset", "Upload your own"], key=f"{K}.source", horizontal=True)
    image = None
    if source == "From the dataset":
        ds = data.load(gs.dataset, "test", gs.seed)
        index = st.number_input(f"Image number in {gs.dataset_title} (0–{len(ds) - 1})", 0, len(ds) - 1, 0, key=f"{K}.index")
        image = ds.images[int(index) : int(index) + 1]
        described = [f"Class: **{ds.class_names[int(ds.labels[int(index)])]}**"] if data.info(gs.dataset).labelled else []
        st.caption(" — ".join(described + ([ds.captions[int(index)]] if ds.captions else [])) or "No class: these images are unlabelled.")
    else:
        uploads = st.file_uploader("PNG, JPEG (phone MPO too), GIF, BMP, WEBP, TIFF or HEIC, up to 20 MB each — several at once is fine",
                                   type=UPLOAD_TYPES, key=f"{K}.upload", accept_multiple_files=True)
        usable, problems = {}, []
        for upload in uploads or []:
            result = decoded(upload.getvalue(), upload.name)
            if isinstance(result, str):  # one bad file never hides the good ones
                problems.append(result)
            else:
                usable[upload.name] = result
        for problem in problems:
            st.error(problem, icon=":material/block:")
        if usable:
            name = st.selectbox("Uploaded image", list(usable), key=f"{K}.upload_pick") if len(usable) > 1 else next(iter(usable))
            image = usable[name]
            st.caption(f"Using **{name}**, centre-cropped and resized to {UPLOAD_SIZE}×{UPLOAD_SIZE}."
                       + (f" {len(problems)} of {len(uploads)} files could not be used (see above)." if problems else ""))
        elif not uploads:
            st.info("Choose one or more image files to see their views.")

    st.selectbox("Start from a preset", list(augment.PRESETS), key=f"{K}.preset", on_change=apply_preset,
                 help="Loads the preset's strengths into the sliders below.")
    if f"{K}.crop" not in st.session_state:
        apply_preset()
    values = {name: st.slider(label, lo, hi, step=step, key=f"{K}.{name}", help=h) for name, (label, lo, hi, step, h) in SLIDERS.items()}
    if st.button(":material/casino: New random views", key=f"{K}.reseed"):
        st.session_state[f"{K}.draw"] = st.session_state.get(f"{K}.draw", 0) + 1

config = config_from(values)
with right:
    if image is None:
        st.info("No image yet: pick one from the dataset or upload a valid file.")
    else:
        gen = torch.Generator().manual_seed(gs.seed * 1000 + st.session_state.get(f"{K}.draw", 0))
        views = augment.augment(image.repeat(16, 1, 1, 1), config, gen)
        scale = 2 if image.shape[-1] > 64 else 5
        st.markdown("**Sixteen random views of the same image**")
        page.image(st, viz.tile(views, cols=8, scale=scale), caption="Each view is one random draw of the pipeline on the left.")
        x1, x2 = augment.two_views(image, config, gen)
        st.markdown("**A positive pair** — SimCLR is trained to embed these two close together, and away from every other image in the batch")
        c1, c2, c3 = st.columns(3)
        page.image(c1, viz.tile(image, scale=scale * 2, pad=0), caption="original")
        page.image(c2, viz.tile(x1, scale=scale * 2, pad=0), caption="view 1 (the anchor)")
        page.image(c3, viz.tile(x2, scale=scale * 2, pad=0), caption="view 2 (its positive x⁺)")

st.subheader("The pipeline as code")
st.code("from sslviz.augment import AugmentConfig, NO_AUGMENTATION, augment, two_views\n\n" + augment.config_code(config)
        + "\nx1, x2 = two_views(images, config, torch.Generator().manual_seed(0))", language="python")
page.show_code(augment.augment, augment.geometric, augment.colour_jitter)

page.try_this([
    "Set every slider to 0 and crop to 1.0: both views are identical. A contrastive loss on such pairs is trivially solved — there is nothing to learn.",
    "On **shapes**, raise the colour jitter strength to 1 and the hue changes completely: an encoder trained this way cannot rely on colour, so it must look at the shape.",
    "On **digits**, turn rotation up to 180°: a 6 becomes a 9. Which augmentations are safe depends on what the labels you care about mean.",
    "Upload a photo of your own and compare the *weak* and *strong* presets.",
])
page.knowledge_check(
    K, "An encoder is trained with strong hue jitter and greyscale. What will its features be bad at?",
    ["Telling shapes apart", "Telling colours apart", "Telling positions apart"], 1,
    "Every augmentation defines an invariance: if two views of different colours must match, colour information is discarded.",
)
