"""Multi-modal SSL: pair images with text (CLIP, VirTex), video, depth and sound."""

import numpy as np
import pandas as pd
import streamlit as st
import torch

from sslviz import data, jobs, losses, methods, recipes, viz
from sslviz.methods.clip import CLIP
from sslviz.methods.crossmodal import CrossModal
from sslviz.methods.paired_scores import RETRIEVAL_PAIRS
from sslviz.ui import live, page, settings

K = "mm"
DATASET = "shapes"  # the only dataset with captions, clips, depth maps and sounds
TABS = {"clip": "Image + text: CLIP", "virtex": "Image + text: VirTex", "temporal": "Image + video", "depth": "Image + depth", "audiovisual": "Image + audio"}
PARTNER = {"clip": "caption", "virtex": "caption", "temporal": "last frame of the clip", "depth": "depth map", "audiovisual": "sound"}
SHOW = 8  # pairs shown side by side
MAX_ERRORS = 5  # prompt lines reported one by one

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
    st.info(f"Captions, clips, depth maps and sounds are generated for the **shapes** images, so this page uses shapes (seed {gs.seed}) "
            f"whatever the sidebar's dataset (now {gs.dataset}). The seed, device and budget still apply.", icon=":material/info:")
test = data.load(DATASET, "test", gs.seed)
held_out = data.held_out_mask(test)
unseen = ", ".join(f"{c} {s}" for c, s in data.HELD_OUT_COMBOS)


def finished_model(name: str):
    """The model of this session's finished run of ``name`` (None while none has finished)."""
    job = live.current_job(f"{K}.{name}")
    if job is None or job.view().active:
        return None
    return job.view().state.get("model")


def images_row(images: torch.Tensor, captions: list[str], cols: int = SHOW) -> None:
    """Images in a row, each with a caption under it."""
    columns = st.columns(cols)
    for col, image, caption in zip(columns, images, captions):
        col.image(viz.tile(image.unsqueeze(0), cols=1, scale=3, pad=0), caption=caption)


def partner_images(name: str, index: torch.Tensor) -> torch.Tensor:
    """The partners of test items ``index`` drawn as images: depth maps, spectrograms, or the clips' last frames ("temporal")."""
    if name == "depth":
        return data.pairs(test, "depth")["depth"][index]
    if name == "audiovisual":
        spec = data.pairs(test, "audio")["spectrogram"][index].flip(-2)  # low frequencies at the bottom
        return (spec / spec.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6))
    return data.pairs(test, "video")["clips"][index, -1].float() / 255


def train_section(name: str, note: str, overrides: dict | None = None) -> None:
    """The Train button (with method settings ``overrides``), the live view of the run and its results."""
    key = f"{K}.{name}"
    st.subheader("Train live")
    st.caption(f"{methods.title(name)} on shapes, seed {gs.seed}, {gs.seconds} s, device {gs.device} (sidebar). {note} Afterwards the image encoder is "
               "evaluated like every other encoder in the app: frozen features, linear probe and kNN on the shape class, against a random-init copy.")
    options = {"live_snapshots": True, "few_labels": (), "label": methods.title(name)}
    live.train_button(key, lambda: recipes.experiment_job(name, DATASET, gs.seconds, gs.seed, gs.device, overrides, **options),
                      pretrained=(name, DATASET, options))
    live.job_view(key, lambda view: render_run(name, view))


def render_run(name: str, view: jobs.JobView) -> None:
    h = view.history
    key = f"{K}.{name}"
    if h:
        score = {"temporal": ["pair_acc"], "virtex": ["word_acc"]}.get(name, ["image_to_partner_acc", "partner_to_image_acc"])
        c1, c2 = st.columns(2)
        c1.plotly_chart(viz.line_chart(h, ["loss"], "Training loss"), key=f"{key}.loss")
        c2.plotly_chart(viz.line_chart(h, score, "Batch accuracy: " + ("next word right" if name == "virtex" else "the partner ranked first")), key=f"{key}.score")
        last = h[-1]
        st.caption(f"Text summary: {len(h)} steps; loss {h[0]['loss']:.3f} → {last['loss']:.3f}; " + ", ".join(f"{s} {last[s]:.2f}" for s in score)
                   + (f"; learned temperature τ = {last['temperature']:.3f}" if "temperature" in last else "") + ".")
    snap = view.state.get("snapshot")
    if snap is not None and "similarity" in snap:
        sim = snap["similarity"].numpy()
        st.plotly_chart(viz.similarity_matrix(sim, f"Step {snap['step']}: held-out images (rows) × their {PARTNER[name]}s (columns), cosine similarity",
                                              [(i, i) for i in range(len(sim))]), key=f"{key}.matrix")
        st.caption(f"Matching pairs sit on the diagonal (outlined). Mean similarity: matching {np.diag(sim).mean():.2f}, "
                   f"others {sim[~np.eye(len(sim), dtype=bool)].mean():.2f}. A bright off-diagonal cell is a pair the model confuses — "
                   "often two images whose partners say the same thing.")
    elif snap is not None and "view1" in snap:
        n = min(SHOW, len(snap["view1"]))
        st.image(viz.tile(torch.cat([snap["view1"][:n], snap["view2"][:n]]), cols=n, scale=3),
                 caption=f"Step {snap['step']}: the two frames of each clip that form a positive pair (top and bottom rows)")
    elif snap is not None and "generated" in snap:
        st.dataframe(pd.DataFrame({"generated": snap["generated"][:SHOW], "true caption": snap.get("true", [""] * SHOW)[:SHOW]}), key=f"{key}.captions")
        st.caption(f"Step {snap['step']}: greedy captions of held-out images.")
    summary = view.state.get("summary")
    if summary and "probe_acc" in summary:
        rows = {methods.title(name): {"linear probe": summary["probe_acc"], "kNN (k=20)": summary["knn_acc"]},
                "random-init CNN": {"linear probe": summary["random_init_probe_acc"], "kNN (k=20)": summary["random_init_knn_acc"]},
                "raw pixels": {"linear probe": summary["raw_pixel_probe_acc"], "kNN (k=20)": summary["raw_pixel_knn_acc"]}}
        st.plotly_chart(viz.accuracy_bars(rows, "Downstream: shape class from the frozen image encoder (held-out test images)"), key=f"{key}.acc")
        st.caption(f"Text summary: kNN {summary['knn_acc']:.3f} vs random init {summary['random_init_knn_acc']:.3f} "
                   f"({summary['knn_acc'] - summary['random_init_knn_acc']:+.3f}); linear probe {summary['probe_acc']:.3f} vs "
                   f"{summary['random_init_probe_acc']:.3f}. {summary['steps']} steps in {summary['seconds']} s.")
    scores = view.state.get("multimodal", {})
    if "image_to_partner_r1" in scores:
        n = int(scores["retrieval_pairs"])
        st.dataframe(pd.DataFrame({f"image → {PARTNER[name]}": [scores["image_to_partner_r1"], scores["image_to_partner_r5"]],
                                   f"{PARTNER[name]} → image": [scores["partner_to_image_r1"], scores["partner_to_image_r5"]],
                                   "chance": [1 / n, 5 / n]}, index=["recall@1", "recall@5"]).style.format("{:.2f}"), key=f"{key}.recall")
        st.caption(f"Retrieval among {n} held-out pairs: how often the right partner is the top hit (recall@1) or in the top 5.")


def retrieval_explorer(name: str, model) -> None:
    """Pick a held-out image, see the partners the model ranks first (and the other way round)."""
    key = f"{K}.{name}.query"
    st.subheader("Retrieval across modalities")
    n = RETRIEVAL_PAIRS
    sim = model.partner_similarity(test, n)
    i = int(st.number_input(f"Held-out image (0–{n - 1})", 0, n - 1, 0, key=key))
    top = sim[i].topk(5).indices
    hits = ", ".join(f"#{int(j)}{' (its own)' if int(j) == i else ''} {float(sim[i, j]):.2f}" for j in top)
    c1, c2 = st.columns([1, 4])
    c1.image(viz.tile(test.images[i : i + 1], cols=1, scale=4, pad=0), caption=f"image {i}")
    if name == "clip":
        c2.dataframe(pd.DataFrame({"caption": [test.captions[int(j)] for j in top], "cosine": [float(sim[i, j]) for j in top],
                                   "its own": ["✓" if int(j) == i else "" for j in top]}, index=[f"#{int(j)}" for j in top]), key=f"{key}.captions")
        c2.caption(f"Image → text: the 5 of {n} held-out captions closest to image {i}.")
    else:
        c2.image(viz.tile(partner_images(name, top), cols=5, scale=3), caption=f"its top-5 {PARTNER[name]}s: {hits}")
    back = sim[:, i].topk(5).indices
    c1, c2 = st.columns([1, 4])
    if name == "clip":
        c1.markdown(f"**Caption {i}:** {test.captions[i]}")
    else:
        c1.image(viz.tile(partner_images(name, torch.tensor([i])), cols=1, scale=4, pad=0), caption=f"{PARTNER[name]} {i}")
    c2.image(viz.tile(test.images[back], cols=5, scale=3), caption=f"{PARTNER[name]} → image: the images closest to {PARTNER[name]} {i}: "
             + ", ".join(f"#{int(j)}{' (its own)' if int(j) == i else ''} {float(sim[j, i]):.2f}" for j in back))
    if name == "audiovisual":
        st.audio(data.pairs(test, "audio")["sound"][i].numpy(), sample_rate=data.SOUND_RATE)
        st.caption(f"Listen to sound {i}: its timbre comes from the shape ({data.TIMBRES[int(test.labels[i])]}), its pitch from the size.")


def prompts_from(text: str) -> tuple[list[str], list[str]]:
    """Non-empty prompt lines of ``text``, and the errors of the lines that cannot be used."""
    prompts, errors = [], []
    for line in dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()):
        problem = data.text_problem(line)
        if problem:
            errors.append(f"“{line if len(line) <= 60 else line[:60] + '…'}”: {problem}")
        else:
            prompts.append(line)
    return prompts, errors[:MAX_ERRORS] + ([f"{len(errors) - MAX_ERRORS} more lines"] if len(errors) > MAX_ERRORS else [])


def clip_tab() -> None:
    st.markdown("Each image comes with a caption in one of several phrasings — *“a small red triangle at the top left”*, *“red triangle, small”*, "
                f"*“something red at the top left”*. Training never sees a **{unseen}**: those combinations are held out to test composition.")
    pairs = data.pairs(test, "text")
    images_row(test.images[:SHOW], [" / ".join([test.captions[i]] + [data.detokenize(pairs["captions"][i, k]) for k in range(2)]) for i in range(SHOW)])
    train_section("clip", "The image encoder is a small CNN, the text encoder a bag of word embeddings; τ is learned.")
    model = finished_model("clip")
    st.subheader("Zero-shot classification: type the classes")
    st.markdown("A CLIP model needs no classifier training: embed one prompt per class, and each image picks the prompt it is most similar to "
                "(softmax of s·u·vᵀ over the prompts). Type your own prompts, one per line.")
    text = st.text_area("Prompts (one per line)", "a circle\na square\na triangle\na cross", key=f"{K}.prompts", height=120,
                        help="Only the words of the captions are known: " + ", ".join(data.VOCAB[len(data.SPECIAL_TOKENS):]))
    prompts, errors = prompts_from(text)
    for error in errors:
        st.warning(f"Skipped {error}. Known words: {', '.join(data.VOCAB[len(data.SPECIAL_TOKENS):])}.", icon=":material/spellcheck:")
    if model is None:
        st.info("Train CLIP above (or wait for the run to finish) to classify with these prompts.", icon=":material/hourglass_empty:")
    elif not prompts:
        st.info("Type at least one prompt made of known words.")
    else:
        start = int(st.number_input("First test image", 0, len(test) - SHOW, 0, step=SHOW, key=f"{K}.zs_start"))
        probs = model.zero_shot(test.images[start : start + SHOW], prompts).numpy()
        images_row(test.images[start : start + SHOW], [f"#{start + i}: {prompts[int(p.argmax())]} ({p.max():.0%})" for i, p in enumerate(probs)])
        st.plotly_chart(viz.score_heatmap({f"#{start + i} ({test.captions[start + i]})": dict(zip(prompts, p)) for i, p in enumerate(probs)},
                                          "Softmax over your prompts, per image", colorbar="probability"), key=f"{K}.zs_heat")
    if model is not None:
        scores = live.current_job(f"{K}.clip").view().state.get("multimodal", {})
        if "zero_shot_shape_acc" in scores:
            st.dataframe(pd.DataFrame({"all test images": [scores["zero_shot_shape_acc"], scores["zero_shot_colour_acc"]],
                                       f"held-out combinations ({held_out.sum()} images)": [scores["zero_shot_shape_acc_held_out"], scores["zero_shot_colour_acc_held_out"]],
                                       "chance": [1 / len(data.SHAPE_NAMES), 1 / len(data.COLOURS)]},
                                      index=["shape (“a circle”, …)", "colour (“something red”, …)"]).style.format("{:.3f}"), key=f"{K}.zs_table")
            st.caption("Zero-shot accuracy on held-out test images with one prompt per class. The held-out column covers colour–shape combinations "
                       f"that training never showed ({unseen}): the gap to the first column measures how well the model composes words it learned apart.")
        st.subheader("Text → image search")
        query = st.text_input("Describe an image", "a large purple cross", key=f"{K}.query")
        found, errors = prompts_from(query.replace("\n", " "))
        if not found:
            st.warning("Cannot search: " + ("; ".join(errors) if errors else "type some words") + ".", icon=":material/spellcheck:")
        else:
            with torch.no_grad():
                sim = (model.embed_images(test.images) @ model.embed_text([query]).T).squeeze(1)
            top = sim.topk(SHOW).indices
            images_row(test.images[top], [f"{float(sim[j]):.2f}{' · unseen combo' if held_out[int(j)] else ''}" for j in top])
            st.caption(f"The {SHOW} test images closest to “{query}” (cosine similarity). Try a held-out combination ({unseen}).")
        retrieval_explorer("clip", model)
    why_language()


def why_language() -> None:
    key = f"{K}.why"
    st.subheader("Why language? One caption teaches every attribute at once")
    st.markdown("A SimCLR encoder learns what survives its augmentations — colour jitter tells it to **drop colour**, crops and rotations blur position. "
                "A caption names shape, colour, size and position together, so CLIP's encoder has a reason to keep all four. "
                "Train both for the same budget and read each attribute from their frozen features:")
    clip_model = finished_model("clip")
    trained = {"CLIP": clip_model} if clip_model is not None else {}
    live.train_button(key, lambda: recipes.downstream_job({"CLIP": ("clip", {}), "SimCLR": ("simclr", {})}, DATASET, gs.seconds, gs.seed, gs.device,
                                                       fractions=(), trained=trained), label="Compare CLIP and SimCLR")
    st.caption(("Your CLIP run above is reused; SimCLR trains" if trained else "CLIP and SimCLR each train") + f" {gs.seconds} s, seed {gs.seed}. "
               "Then linear probes and kNN read shape, colour, size and position (3×3 grid) from the frozen features, with a random-init CNN as reference.")

    def render(view: jobs.JobView) -> None:
        attributes = view.state.get("attributes", {})
        if not attributes:
            return
        how = st.radio("Read with", ["kNN", "linear probe"], horizontal=True, key=f"{key}.how")
        rows = {**{enc: scores[how] for enc, scores in attributes.items()}, "chance": view.state["chance"]}
        st.plotly_chart(viz.score_heatmap(rows, f"Attributes read from frozen features ({how}, held-out images)"), key=f"{key}.heat")
        if {"CLIP", "SimCLR"} <= set(attributes):
            c, s = attributes["CLIP"][how], attributes["SimCLR"][how]
            kept = [a for a in c if c[a] - s[a] > 0.05]
            st.markdown("Text summary: " + "; ".join(f"{a}: CLIP {c[a]:.2f} vs SimCLR {s[a]:.2f}" for a in c) + ". "
                        + (f"CLIP's features keep more of: {', '.join(kept)} — attributes its captions name and SimCLR's augmentations "
                           "(colour jitter, crops, rotations) teach it to ignore." if kept else
                           "In this run no attribute is clearly better kept by CLIP (by more than 0.05); try a longer budget."))

    live.job_view(key, render)


def virtex_tab() -> None:
    st.markdown("VirTex learns from the same captions differently: the image encoder feeds a small decoder that must **write** the caption, "
                "word by word. Here each image has its canonical caption; held-out colour–shape combinations are never shown.")
    images_row(test.images[:SHOW], list(test.captions[:SHOW]))
    train_section("virtex", "The decoder is a GRU whose first state comes from the image features.")
    model = finished_model("virtex")
    if model is None:
        return
    scores = live.current_job(f"{K}.virtex").view().state.get("multimodal", {})
    if "caption_shape_acc" in scores:
        st.subheader("What do the captions get right?")
        st.dataframe(pd.DataFrame({"share of captions naming it right": [scores[f"caption_{a}_acc"] for a in ("shape", "colour", "size", "position")]},
                                  index=["shape", "colour", "size", "position"]).style.format("{:.3f}"), key=f"{K}.virtex.acc")
        st.caption(f"On 500 held-out images; exactly right captions: {scores['caption_exact']:.1%}.")
        examples = scores.get("held_out_examples", [])
        if examples:
            st.subheader(f"Captions for held-out combinations ({unseen})")
            images_row(test.images[[e["index"] for e in examples]], [f"“{e['generated']}” (true: {e['true']})" for e in examples], cols=len(examples))
            st.caption("A captioner that never saw a green circle tends to write a combination it did see: its language model prefers familiar phrases.")
    i = int(st.number_input("Caption any test image", 0, len(test) - 1, 0, key=f"{K}.virtex.index"))
    c1, c2 = st.columns([1, 4])
    c1.image(viz.tile(test.images[i : i + 1], cols=1, scale=4, pad=0))
    c2.markdown(f"**Generated:** {model.caption(test.images[i : i + 1])[0]}  \n**True:** {test.captions[i]}")


def video_tab() -> None:
    st.markdown("Each image is the first frame of a short clip in which the shape drifts and turns. **Frames of the same clip are positives**, "
                "frames of other clips negatives: time supplies the augmentations.")
    clips = data.pairs(test, "video")["clips"][:4]
    st.image(viz.tile(clips.flatten(0, 1).float() / 255, cols=clips.shape[1], scale=3), caption=f"4 held-out clips, one per row, {data.CLIP_FRAMES} frames each")
    jitter_param = [settings.Param("jitter", f"{K}.temporal.jitter", [True, False])]
    settings.from_url(jitter_param, f"{K}.temporal")
    jitter = st.toggle("Colour jitter on the frames", key=f"{K}.temporal.jitter", **settings.default(f"{K}.temporal.jitter", True),
                       help="Time changes where the shape is and how it is turned, never its colour: without jitter, matching frames by colour is the "
                            "easy way out, and the features sort images by colour rather than shape (CVRL, Qian et al. 2021, jitters video frames for this reason).")
    settings.to_url(jitter_param)
    train_section("temporal", "Each step pairs two random frames of every clip" + (", each with its own colour jitter." if jitter else ", unchanged."),
                  {"augment": "colour only" if jitter else "none"})
    model = finished_model("temporal")
    if model is not None:
        retrieval_explorer("temporal", model)


def depth_tab() -> None:
    st.markdown("Each image has a depth map: the shape stands at its own distance (brighter = nearer) and bulges slightly. The depth map has **no colour**, "
                "so matching an image with its depth map can only use the silhouette — shape, size, position.")
    images_row(torch.cat([test.images[:SHOW // 2], data.pairs(test, "depth")["depth"][: SHOW // 2].repeat(1, 3, 1, 1)]),
               [f"image {i}" for i in range(SHOW // 2)] + [f"depth {i}" for i in range(SHOW // 2)])
    train_section("depth", "Two CNNs, one per modality, meet in one embedding space.")
    model = finished_model("depth")
    if model is not None:
        retrieval_explorer("depth", model)


def audio_tab() -> None:
    st.markdown("Each image has the sound its object makes: the **shape sets the timbre** (" + ", ".join(f"{s}: {t}" for s, t in zip(data.SHAPE_NAMES, data.TIMBRES))
                + ") and the **size the pitch** (bigger, lower). Colour and position are silent.")
    audio = data.pairs(test, "audio")
    c1, c2 = st.columns([1, 3])
    i = int(c1.number_input("Test image", 0, len(test) - 1, 0, key=f"{K}.audio.index"))
    c1.image(viz.tile(test.images[i : i + 1], cols=1, scale=4, pad=0), caption=test.captions[i])
    c1.audio(audio["sound"][i].numpy(), sample_rate=data.SOUND_RATE)
    c2.plotly_chart(viz.line_chart([{"ms": 1000 * t / data.SOUND_RATE, "amplitude": float(a)} for t, a in enumerate(audio["sound"][i][:400])], ["amplitude"],
                                   f"Waveform (first 100 ms) — {data.TIMBRES[int(test.labels[i])]}", x="ms"), key=f"{K}.audio.wave")
    c2.plotly_chart(viz.spectrogram(audio["spectrogram"][i, 0].numpy(), data.SOUND_RATE, data.SPECTROGRAM_HOP,
                                    "Spectrogram: what the sound encoder sees (bright lines: the harmonics)"), key=f"{K}.audio.spec")
    train_section("audiovisual", "A CNN reads the spectrogram; the image encoder must predict which sound belongs to which image.")
    model = finished_model("audiovisual")
    if model is not None:
        retrieval_explorer("audiovisual", model)


for tab, render_tab in zip(st.tabs(list(TABS.values())), (clip_tab, virtex_tab, video_tab, depth_tab, audio_tab)):
    with tab:
        render_tab()

page.try_this([
    "Train **CLIP** for 60 s, then type prompts: “a circle / a square / a triangle / a cross”, then colours (“something red”, …), then sizes (“a small”, “a large”).",
    f"Search for a held-out combination such as “a purple cross”: CLIP never saw one ({unseen}). Does it still find them?",
    "Type a word the captions never use (“dog”): the page names the unknown words — a tiny vocabulary is the price of a tiny model.",
    "Compare **CLIP and SimCLR** in “Why language?”: which attributes does SimCLR lose, and which augmentation removed each?",
    "Train **RGB ↔ depth** and **audio-visual**, then check their retrieval: which mistakes does each make, and which attributes can they not see?",
])
page.knowledge_check(
    K, "CLIP classifies an image zero-shot. Where do the classifier's weights come from?",
    ["From a linear probe trained on labelled images", "From the text encoder's embeddings of the prompts", "From k-means on the image features", "From the temperature τ"], 1,
    "Each class's weight vector is the embedding of its prompt, so changing the prompts changes the classifier — no labelled images needed.",
)
