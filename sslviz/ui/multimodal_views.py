"""The Multi-modal page's tabs: one per registered multi-modal method (layout only).

Every method of the "multi-modal" family gets a tab named after the modality it pairs with
(``MethodSpec.pairs``): its Train button, the live run and, when its report has retrieval
scores, a retrieval explorer. The methods this page teaches in depth add their own views
(:data:`VIEWS`): CLIP's zero-shot prompts, VirTex's captions, the clips, depth maps and sounds.
A new multi-modal method needs no edit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st
import torch

from sslviz import data, jobs, methods, recipes, viz
from sslviz.methods import paired_scores
from sslviz.methods.paired_scores import RETRIEVAL_PAIRS
from sslviz.ui import classroom, live, page, settings

K = "mm"
DATASET = "shapes"  # the dataset the page trains on; the registry says which modalities it pairs with
SHOW = 8  # pairs shown side by side
MAX_ERRORS = 5  # prompt lines reported one by one
BATCH_SCORES = {"pair_acc": "the partner ranked first", "image_to_partner_acc": "the partner ranked first",
                "partner_to_image_acc": "the partner ranked first", "word_acc": "next word right"}  # history keys a run may log


@dataclass(frozen=True)
class Scene:
    """What every tab shows and trains on: the sidebar settings and the held-out test images."""

    gs: settings.GlobalSettings
    test: data.Dataset
    held_out: np.ndarray  # test images of colour–shape combinations training never shows
    unseen: str  # those combinations, in words

    @classmethod
    def of(cls, gs: settings.GlobalSettings) -> Scene:
        test = data.load(DATASET, "test", gs.seed)
        return cls(gs, test, data.held_out_mask(test), ", ".join(f"{c} {s}" for c, s in data.HELD_OUT_COMBOS))


def partner(name: str) -> str:
    """What one partner of ``name``'s images is called ("caption", "depth map", ...)."""
    return data.PARTNER_NAMES[methods.spec(name).pairs]


def tab_titles(names: list[str]) -> list[str]:
    """ "Image + <modality>", with the method's name where several methods pair the same modality."""
    modality = {n: methods.spec(n).pairs for n in names}
    shared = {m for m in modality.values() if list(modality.values()).count(m) > 1}
    return [f"Image + {m}" + (f": {methods.title(n)}" if m in shared else "") for n, m in modality.items()]


def finished_model(name: str):
    """The model of this session's finished run of ``name`` (None while none has finished)."""
    job = live.current_job(f"{K}.{name}")
    return None if job is None or job.view().active else job.view().state.get("model")


def shown_model(name: str):
    """What the tab's explorers use: this session's finished model, else the shipped checkpoint (saying so), else None."""
    model = finished_model(name)
    if model is not None or name not in live.shipped(DATASET):
        return model
    st.caption(f"The explorers below use the **shipped {methods.title(name)} model** (models/, {live.shipped(DATASET)[name]['steps']} steps) until your own run finishes.")
    return live.pretrained_model(name, DATASET)


def finished_scores(name: str) -> dict[str, Any]:
    """What the finished run's method reported on the test set (``Method.report``)."""
    return {} if (job := live.current_job(f"{K}.{name}")) is None else job.view().state.get("multimodal", {})


def images_row(images: torch.Tensor, captions: list[str], cols: int = SHOW) -> None:
    """Images in a row, each with a caption under it."""
    columns = st.columns(cols)
    for col, image, caption in zip(columns, images, captions):
        page.image(col, viz.tile(image.unsqueeze(0), cols=1, scale=3, pad=0), caption=caption)


def train_section(scene: Scene, name: str, note: str, overrides: dict | None = None) -> None:
    """The Train button (with method settings ``overrides``), the live view of the run and its results."""
    key, gs = f"{K}.{name}", scene.gs
    st.subheader("Train live")
    st.caption(f"{methods.title(name)} on {DATASET}, seed {gs.seed}, {gs.seconds} s, device {gs.device} (sidebar). {note} Afterwards the image "
               "encoder is evaluated like every other encoder in the app: frozen features, linear probe and kNN on the shape class, against a random-init copy.")
    options = {"live_snapshots": True, "few_labels": (), "label": methods.title(name)}
    live.train_button(key, lambda: recipes.experiment_job(name, DATASET, gs.seconds, gs.seed, gs.device, overrides, **options),
                      pretrained=(name, DATASET, options), steps=True)
    live.job_view(key, lambda view: render_run(name, view))


def render_history(name: str, h: list[dict]) -> None:
    score = [k for k in BATCH_SCORES if k in h[-1]]
    c1, c2 = st.columns(2)
    c1.plotly_chart(viz.line_chart(h, ["loss"], "Training loss"), key=f"{K}.{name}.loss")
    if score:
        c2.plotly_chart(viz.line_chart(h, score, "Batch accuracy: " + BATCH_SCORES[score[0]]), key=f"{K}.{name}.score")
    last = h[-1]
    st.caption(f"Text summary: {len(h)} steps; loss {h[0]['loss']:.3f} → {last['loss']:.3f}; " + ", ".join(f"{s} {last[s]:.2f}" for s in score)
               + (f"; learned temperature τ = {last['temperature']:.3f}" if "temperature" in last else "") + ".")


def render_snapshot(name: str, snap: dict) -> None:
    key = f"{K}.{name}"
    if "similarity" in snap:
        sim = snap["similarity"].numpy()
        st.plotly_chart(viz.similarity_matrix(sim, f"Step {snap['step']}: held-out images (rows) × their {partner(name)}s (columns), cosine similarity",
                                              [(i, i) for i in range(len(sim))]), key=f"{key}.matrix")
        st.caption(f"Matching pairs sit on the diagonal (outlined). Mean similarity: matching {np.diag(sim).mean():.2f}, "
                   f"others {sim[~np.eye(len(sim), dtype=bool)].mean():.2f}. A bright off-diagonal cell is a pair the model confuses — "
                   "often two images whose partners say the same thing.")
    elif "view1" in snap:
        n = min(SHOW, len(snap["view1"]))
        page.image(st, viz.tile(torch.cat([snap["view1"][:n], snap["view2"][:n]]), cols=n, scale=3),
                 caption=f"Step {snap['step']}: the two frames of each clip that form a positive pair (top and bottom rows)")
    elif "generated" in snap:
        st.dataframe(pd.DataFrame({"generated": snap["generated"][:SHOW], "true caption": snap.get("true", [""] * SHOW)[:SHOW]}), key=f"{key}.captions")
        st.caption(f"Step {snap['step']}: greedy captions of held-out images.")


def render_summary(name: str, summary: dict) -> None:
    rows = {methods.title(name): {"linear probe": summary["probe_acc"], "kNN (k=20)": summary["knn_acc"]},
            "random-init CNN": {"linear probe": summary["random_init_probe_acc"], "kNN (k=20)": summary["random_init_knn_acc"]},
            "raw pixels": {"linear probe": summary["raw_pixel_probe_acc"], "kNN (k=20)": summary["raw_pixel_knn_acc"]}}
    st.plotly_chart(viz.accuracy_bars(rows, "Downstream: shape class from the frozen image encoder (held-out test images)"), key=f"{K}.{name}.acc")
    st.caption(f"Text summary: kNN {summary['knn_acc']:.3f} vs random init {summary['random_init_knn_acc']:.3f} "
               f"({summary['knn_acc'] - summary['random_init_knn_acc']:+.3f}); linear probe {summary['probe_acc']:.3f} vs "
               f"{summary['random_init_probe_acc']:.3f}. {summary['steps']} steps in {summary['seconds']} s.")


def render_run(name: str, view: jobs.JobView) -> None:
    if view.history:
        render_history(name, view.history)
    snap = view.state.get("snapshot")
    if snap is not None:
        render_snapshot(name, snap)
    summary = view.state.get("summary")
    if summary and "probe_acc" in summary:
        render_summary(name, summary)
    scores = view.state.get("multimodal", {})
    if "image_to_partner_r1" in scores:
        n, other = int(scores["retrieval_pairs"]), partner(name)
        st.dataframe(pd.DataFrame({f"image → {other}": [scores["image_to_partner_r1"], scores["image_to_partner_r5"]],
                                   f"{other} → image": [scores["partner_to_image_r1"], scores["partner_to_image_r5"]],
                                   "chance": [1 / n, 5 / n]}, index=["recall@1", "recall@5"]).style.format("{:.2f}"), key=f"{K}.{name}.recall")
        st.caption(f"Retrieval among {n} held-out pairs: how often the right partner is the top hit (recall@1) or in the top 5.")


def retrieval_explorer(scene: Scene, name: str, model) -> None:
    """Pick a held-out image, see the partners the model ranks first (and the other way round)."""
    key, test, other, modality = f"{K}.{name}.query", scene.test, partner(name), methods.spec(name).pairs
    st.subheader("Retrieval across modalities")
    n = RETRIEVAL_PAIRS
    sim = model.partner_similarity(test, n)
    i = int(st.number_input(f"Held-out image (0–{n - 1})", 0, n - 1, 0, key=key))

    def hits(order: torch.Tensor, score: Callable[[int], float]) -> str:
        return ", ".join(f"#{int(j)}{' (its own)' if int(j) == i else ''} {score(int(j)):.2f}" for j in order)

    top = sim[i].topk(5).indices
    c1, c2 = st.columns([1, 4])
    page.image(c1, viz.tile(test.images[i : i + 1], cols=1, scale=4, pad=0), caption=f"image {i}")
    if modality == "text":
        c2.dataframe(pd.DataFrame({"caption": [test.captions[int(j)] for j in top], "cosine": [float(sim[i, j]) for j in top],
                                   "its own": ["✓" if int(j) == i else "" for j in top]}, index=[f"#{int(j)}" for j in top]), key=f"{key}.captions")
        c2.caption(f"Image → text: the 5 of {n} held-out captions closest to image {i}.")
    else:
        page.image(c2, viz.tile(data.partner_pictures(test, modality, top), cols=5, scale=3), caption=f"its top-5 {other}s: {hits(top, lambda j: float(sim[i, j]))}")
    back = sim[:, i].topk(5).indices
    c1, c2 = st.columns([1, 4])
    if modality == "text":
        c1.markdown(f"**Caption {i}:** {test.captions[i]}")
    else:
        page.image(c1, viz.tile(data.partner_pictures(test, modality, torch.tensor([i])), cols=1, scale=4, pad=0), caption=f"{other} {i}")
    page.image(c2, viz.tile(test.images[back], cols=5, scale=3),
             caption=f"{other} → image: the images closest to {other} {i}: {hits(back, lambda j: float(sim[j, i]))}")
    if modality == "audio":
        st.audio(data.pairs(test, "audio")["sound"][i].numpy(), sample_rate=data.SOUND_RATE)
        st.caption(f"Listen to sound {i}: its timbre comes from the shape ({data.TIMBRES[int(test.labels[i])]}), its pitch from the size.")


def prompts_from(text: str) -> tuple[list[str], list[str]]:
    """Non-empty prompt lines of ``text``, and the errors of the lines that cannot be used (at most MAX_ERRORS)."""
    return data.usable_lines(text, MAX_ERRORS)


def known_words() -> str:
    return ", ".join(data.VOCAB[len(data.SPECIAL_TOKENS):])


def clip_intro(scene: Scene) -> tuple[str, dict | None]:
    test = scene.test
    st.markdown("Each image comes with a caption in one of several phrasings — *“a small red triangle at the top left”*, *“red triangle, small”*, "
                f"*“something red at the top left”*. Training never sees a **{scene.unseen}**: those combinations are held out to test composition.")
    pairs = data.pairs(test, "text")
    images_row(test.images[:SHOW], [" / ".join([test.captions[i]] + [data.detokenize(pairs["captions"][i, k]) for k in range(2)]) for i in range(SHOW)])
    return "The image encoder is a small CNN, the text encoder a bag of word embeddings; τ is learned.", None


def zero_shot(scene: Scene, model) -> None:
    """Type one prompt per class; each image picks the prompt it is most similar to."""
    test = scene.test
    st.subheader("Zero-shot classification: type the classes")
    st.markdown("A CLIP model needs no classifier training: embed one prompt per class, and each image picks the prompt it is most similar to "
                "(softmax of s·u·vᵀ over the prompts). Type your own prompts, one per line.")
    text = st.text_area("Prompts (one per line)", "a circle\na square\na triangle\na cross", key=f"{K}.prompts", height=120,
                        help="Only the words of the captions are known: " + known_words())
    prompts, errors = prompts_from(text)
    for error in errors:
        st.warning(f"Skipped {error}. Known words: {known_words()}.", icon=":material/spellcheck:")
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


def zero_shot_scores(scene: Scene, scores: dict) -> None:
    st.dataframe(pd.DataFrame({"all test images": [scores["zero_shot_shape_acc"], scores["zero_shot_colour_acc"]],
                               f"held-out combinations ({scene.held_out.sum()} images)": [scores["zero_shot_shape_acc_held_out"],
                                                                                         scores["zero_shot_colour_acc_held_out"]],
                               "chance": [1 / len(data.SHAPE_NAMES), 1 / len(data.COLOURS)]},
                              index=["shape (“a circle”, …)", "colour (“something red”, …)"]).style.format("{:.3f}"), key=f"{K}.zs_table")
    st.caption("Zero-shot accuracy on held-out test images with one prompt per class. The held-out column covers colour–shape combinations "
               f"that training never showed ({scene.unseen}): the gap to the first column measures how well the model composes words it learned apart.")


def text_search(scene: Scene, model) -> None:
    test = scene.test
    st.subheader("Text → image search")
    query = st.text_input("Describe an image", "a large purple cross", key=f"{K}.query")
    found, errors = prompts_from(query.replace("\n", " "))
    if not found:
        st.warning("Cannot search: " + ("; ".join(errors) if errors else "type some words") + ".", icon=":material/spellcheck:")
        return
    with torch.no_grad():
        sim = (model.embed_images(test.images) @ model.embed_text([query]).T).squeeze(1)
    top = sim.topk(SHOW).indices
    images_row(test.images[top], [f"{float(sim[j]):.2f}{' · unseen combo' if scene.held_out[int(j)] else ''}" for j in top])
    st.caption(f"The {SHOW} test images closest to “{query}” (cosine similarity). Try a held-out combination ({scene.unseen}).")


def clip_after(scene: Scene, model) -> None:
    zero_shot(scene, model)
    if model is not None:
        scores = finished_scores("clip")
        if "zero_shot_shape_acc" in scores:
            zero_shot_scores(scene, scores)
        text_search(scene, model)
        retrieval_explorer(scene, "clip", model)
    why_language(scene)


def why_language(scene: Scene) -> None:
    key, gs = f"{K}.why", scene.gs
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
    live.job_view(key, render_why)


def render_why(view: jobs.JobView) -> None:
    attributes = view.state.get("attributes", {})
    if not attributes:
        return
    how = st.radio("Read with", ["kNN", "linear probe"], horizontal=True, key=f"{K}.why.how")
    rows = {**{enc: scores[how] for enc, scores in attributes.items()}, "chance": view.state["chance"]}
    st.plotly_chart(viz.score_heatmap(rows, f"Attributes read from frozen features ({how}, held-out images)"), key=f"{K}.why.heat")
    if {"CLIP", "SimCLR"} <= set(attributes):
        c, s = attributes["CLIP"][how], attributes["SimCLR"][how]
        kept = [a for a in c if c[a] - s[a] > 0.05]
        st.markdown("Text summary: " + "; ".join(f"{a}: CLIP {c[a]:.2f} vs SimCLR {s[a]:.2f}" for a in c) + ". "
                    + (f"CLIP's features keep more of: {', '.join(kept)} — attributes its captions name and SimCLR's augmentations "
                       "(colour jitter, crops, rotations) teach it to ignore." if kept else
                       "In this run no attribute is clearly better kept by CLIP (by more than 0.05); try a longer budget."))


def virtex_intro(scene: Scene) -> tuple[str, dict | None]:
    st.markdown("VirTex learns from the same captions differently: the image encoder feeds a small decoder that must **write** the caption, "
                "word by word. Here each image has its canonical caption; held-out colour–shape combinations are never shown.")
    images_row(scene.test.images[:SHOW], list(scene.test.captions[:SHOW]))
    return "The decoder is a GRU whose first state comes from the image features.", None


def unseen_verdict(examples: list[dict]) -> str:
    """The captions of never-seen colour–shape combinations: how many name them, how many fall back on a seen one."""
    right, seen = paired_scores.unseen_caption_counts(examples)
    return (f"{right} of {len(examples)} captions name the unseen colour–shape pair; {seen} {'writes' if seen == 1 else 'write'} "
            "a combination training did show instead" + (" — the decoder's language model falls back on phrases it knows." if seen else "."))


def virtex_after(scene: Scene, model) -> None:
    if model is None:
        return
    test, scores = scene.test, finished_scores("virtex")
    if "caption_shape_acc" in scores:
        st.subheader("What do the captions get right?")
        st.dataframe(pd.DataFrame({"share of captions naming it right": [scores[f"caption_{a}_acc"] for a in ("shape", "colour", "size", "position")]},
                                  index=["shape", "colour", "size", "position"]).style.format("{:.3f}"), key=f"{K}.virtex.acc")
        st.caption(f"On 500 held-out images; exactly right captions: {scores['caption_exact']:.1%}.")
        examples = scores.get("held_out_examples", [])
        if examples:
            st.subheader(f"Captions for held-out combinations ({scene.unseen})")
            images_row(test.images[[e["index"] for e in examples]], [f"“{e['generated']}” (true: {e['true']})" for e in examples], cols=len(examples))
            st.caption(unseen_verdict(examples))
    i = int(st.number_input("Caption any test image", 0, len(test) - 1, 0, key=f"{K}.virtex.index"))
    c1, c2 = st.columns([1, 4])
    page.image(c1, viz.tile(test.images[i : i + 1], cols=1, scale=4, pad=0), alt=f"test image {i}: {test.captions[i]}")
    c2.markdown(f"**Generated:** {model.caption(test.images[i : i + 1])[0]}  \n**True:** {test.captions[i]}")


def video_intro(scene: Scene) -> tuple[str, dict | None]:
    st.markdown("Each image is the first frame of a short clip in which the shape drifts and turns. **Frames of the same clip are positives**, "
                "frames of other clips negatives: time supplies the augmentations.")
    clips = data.pairs(scene.test, "video")["clips"][:4]
    page.image(st, viz.tile(clips.flatten(0, 1).float() / 255, cols=clips.shape[1], scale=3), caption=f"4 held-out clips, one per row, {data.CLIP_FRAMES} frames each")
    jitter_param = [settings.Param("jitter", f"{K}.temporal.jitter", [True, False])]
    settings.from_url(jitter_param, f"{K}.temporal")
    jitter = classroom.control("jitter", "Colour jitter on the frames", st.toggle, key=f"{K}.temporal.jitter", default=True, **settings.default(f"{K}.temporal.jitter", True),
                       help="Time changes where the shape is and how it is turned, never its colour: without jitter, matching frames by colour is the "
                            "easy way out, and the features sort images by colour rather than shape (CVRL, Qian et al. 2021, jitters video frames for this reason).")
    settings.to_url(jitter_param)
    return ("Each step pairs two random frames of every clip" + (", each with its own colour jitter." if jitter else ", unchanged."),
            {"augment": "colour only" if jitter else "none"})


def depth_intro(scene: Scene) -> tuple[str, dict | None]:
    test, half = scene.test, SHOW // 2
    st.markdown("Each image has a depth map: the shape stands at its own distance (brighter = nearer) and bulges slightly. The depth map has **no colour**, "
                "so matching an image with its depth map can only use the silhouette — shape, size, position.")
    images_row(torch.cat([test.images[:half], data.pairs(test, "depth")["depth"][:half].repeat(1, 3, 1, 1)]),
               [f"image {i}" for i in range(half)] + [f"depth {i}" for i in range(half)])
    return "Two CNNs, one per modality, meet in one embedding space.", None


def audio_intro(scene: Scene) -> tuple[str, dict | None]:
    test = scene.test
    st.markdown("Each image has the sound its object makes: the **shape sets the timbre** (" + ", ".join(f"{s}: {t}" for s, t in zip(data.SHAPE_NAMES, data.TIMBRES))
                + ") and the **size the pitch** (bigger, lower). Colour and position are silent.")
    audio = data.pairs(test, "audio")
    c1, c2 = st.columns([1, 3])
    i = int(c1.number_input("Test image", 0, len(test) - 1, 0, key=f"{K}.audio.index"))
    page.image(c1, viz.tile(test.images[i : i + 1], cols=1, scale=4, pad=0), caption=test.captions[i])
    c1.audio(audio["sound"][i].numpy(), sample_rate=data.SOUND_RATE)
    c2.plotly_chart(viz.line_chart([{"ms": 1000 * t / data.SOUND_RATE, "amplitude": float(a)} for t, a in enumerate(audio["sound"][i][:400])], ["amplitude"],
                                   f"Waveform (first 100 ms) — {data.TIMBRES[int(test.labels[i])]}", x="ms"), key=f"{K}.audio.wave")
    c2.plotly_chart(viz.spectrogram(audio["spectrogram"][i, 0].numpy(), data.SOUND_RATE, data.SPECTROGRAM_HOP,
                                    "Spectrogram: what the sound encoder sees (bright lines: the harmonics)"), key=f"{K}.audio.spec")
    return "A CNN reads the spectrogram; the image encoder must predict which sound belongs to which image.", None


def generic_intro(name: str) -> Callable[[Scene], tuple[str, dict | None]]:
    def intro(scene: Scene) -> tuple[str, dict | None]:
        st.markdown(methods.spec(name).summary)
        return "", None
    return intro


@dataclass(frozen=True)
class TabViews:
    """A tab's own views: ``intro`` shows the pairs, returns (a Train-section note, config overrides); ``after``: what the shown model can do (or None)."""

    intro: Callable[[Scene], tuple[str, dict | None]]
    after: Callable[[Scene, Any], None] | None = None


# The methods this page teaches in depth; any other multi-modal method gets its summary and a retrieval explorer.
VIEWS = {"clip": TabViews(clip_intro, clip_after), "virtex": TabViews(virtex_intro, virtex_after),
         "temporal": TabViews(video_intro), "depth": TabViews(depth_intro), "audiovisual": TabViews(audio_intro)}


def render_tab(scene: Scene, name: str) -> None:
    """One method's tab: its own introduction, the Train section, then what the trained model can do."""
    views = VIEWS.get(name, TabViews(generic_intro(name)))
    train_section(scene, name, *views.intro(scene))
    model = shown_model(name)
    if views.after is not None:
        views.after(scene, model)
    elif model is not None and hasattr(model, "partner_similarity") and (finished_model(name) is None or "image_to_partner_r1" in finished_scores(name)):
        retrieval_explorer(scene, name, model)
