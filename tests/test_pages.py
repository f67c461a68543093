"""Streamlit AppTest: every page renders without exceptions and its main widgets work."""

import io
import json
import re
import time
from pathlib import Path

import pyarrow as pa
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from sslviz import checkpoints, data, methods, viz
from sslviz.jobs import MAX_JOB_SECONDS, JobView
from sslviz.methods import deepcluster

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600  # a hang guard for one script run, not a speed limit (a loaded CI machine is slow)
HANG_SECONDS = MAX_JOB_SECONDS  # no job outlives the runner's watchdog; waiting longer means something hangs


def open_page(page: str | None = None, **state) -> AppTest:
    """Open the app as a fresh browser session, with sidebar settings in ``state``, and go to ``page``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [w.value for w in at.warning] + [s.value for s in at.success] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def test_home_renders_with_sidebar_and_map():
    at = open_page()
    assert at.title[0].value.startswith("sslviz")
    assert "Weak supervision" in texts(at) and "Augmentations" in texts(at)
    links = at.get("page_link")  # the map of the app: one link per lecture page, resolved to the navigation's address and title
    lecture_pages = ["augmentations", "pretext", "contrastive", "collapse", "mae", "clustering", "multimodal", "downstream"]
    assert [link.proto.page for link in links[:8]] == lecture_pages
    assert [link.proto.label for link in links][:2] == ["Augmentations", "Pretext tasks"]
    path = links[8:]  # the 45-minute lecture path: every stop opens a lecture page in presenter mode with its settings
    assert [link.proto.page for link in path] == [p for p in lecture_pages if p != "clustering"]
    assert all("present=1" in link.proto.query_string for link in path) and "method=simclr" in path[2].proto.query_string
    assert at.selectbox(key="global.dataset").value == "shapes"
    assert at.slider(key="global.seconds").value == 30


def test_augmentations_widgets():
    at = open_page("app_pages/augmentations.py")
    assert "Sixteen random views" in texts(at)
    at.selectbox(key="aug.preset").set_value("strong").run()
    assert at.slider(key="aug.crop").value == pytest.approx(0.08)
    at.slider(key="aug.rotation").set_value(90.0).run()
    at.number_input(key="aug.index").set_value(5).run()
    at.button(key="aug.reseed").click().run()
    assert not at.exception
    code = [c.value for c in at.code]
    assert any("rotation=90.0" in c for c in code)
    at.selectbox(key="global.dataset").set_value("digits").run()
    assert not at.exception and "handwritten" in texts(at)


def png(size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_augmentations_upload_good_and_bad():
    at = open_page("app_pages/augmentations.py")
    at.radio(key="aug.source").set_value("Upload your own").run()
    assert "Choose one or more image files" in texts(at)
    at.file_uploader(key="aug.upload").set_value([("photo.png", png(), "image/png")]).run()
    assert not at.exception and not at.error and "photo.png" in texts(at)
    at.file_uploader(key="aug.upload").set_value([("broken.png", png()[:60], "image/png")]).run()
    assert not at.exception and "broken.png" in at.error[0].value and "damaged" in at.error[0].value


def test_upload_fuzz_every_file_gets_an_image_or_a_specific_message():
    """All the fuzz cases of tests/test_images.py uploaded at once: bad ones reported by name, good ones usable."""
    from test_images import BAD, GOOD, encode

    files = [(f"{name.replace(' ', '_')}.png", make(), "image/png") for name, make in GOOD.items()]
    files += [(f"{name.replace(' ', '_')}.png", make(), "image/png") for name, (make, _) in BAD.items()]
    files.append(("photo_4000x3000.jpg", encode(Image.new("RGB", (4000, 3000), (10, 200, 30)), "JPEG"), "image/jpeg"))
    at = open_page("app_pages/augmentations.py")
    at.radio(key="aug.source").set_value("Upload your own").run()
    at.file_uploader(key="aug.upload").set_value(files).run()
    assert not at.exception
    errors = "\n".join(e.value for e in at.error)
    for name, (_, match) in BAD.items():
        line = next(line for line in errors.splitlines() if line.startswith(f"{name.replace(' ', '_')}.png:"))
        assert re.search(match, line), line
    good = at.selectbox(key="aug.upload_pick").options
    assert sorted(good) == sorted([f[0] for f in files[: len(GOOD)]] + ["photo_4000x3000.jpg"])
    for name in good:  # every usable file really shows its views
        at.selectbox(key="aug.upload_pick").set_value(name).run()
        assert not at.exception and "Sixteen random views" in texts(at)


def until(condition, what: str) -> None:
    """Wait for ``condition()`` (a hang guard at the watchdog's own limit, not a speed limit)."""
    end = time.monotonic() + HANG_SECONDS
    while not condition():
        assert time.monotonic() < end, f"never happened: {what}"
        time.sleep(0.01)


def wait_for_job(at: AppTest, key: str = "contrastive", timeout: float = 120) -> None:
    job = at.session_state[f"{key}.job"]
    end = time.monotonic() + HANG_SECONDS  # ``timeout`` is ignored: tests wait for behaviour, not for the clock
    while job.view().active and time.monotonic() < end:
        time.sleep(0.1)
    assert not job.view().active
    at.run()


def wait_for_import(at: AppTest, key: str = "contrastive", timeout: float = 120) -> None:
    """Wait for the bundle import started under ``key`` (it runs in the background) and rerun the page once."""
    job = at.session_state[f"{key}.importing"]["job"]
    end = time.monotonic() + HANG_SECONDS  # ``timeout`` is ignored: tests wait for behaviour, not for the clock
    while job.view().active and time.monotonic() < end:
        time.sleep(0.1)
    assert not job.view().active
    at.run()


def train(at: AppTest, key: str, timeout: float = 120) -> JobView:
    """Press the Train button of ``key``, wait for its job to end and return what it left."""
    at.button(key=f"{key}.train").click().run()
    wait_for_job(at, key, timeout)
    return at.session_state[f"{key}.job"].view()


def answer_quiz(at: AppTest, key: str, answer: str) -> None:
    """Pick ``answer`` in the page's knowledge check and expect it marked correct."""
    at.radio(key=f"{key}.quiz").set_value(answer).run()
    assert "Correct" in at.success[-1].value


def test_contrastive_train_live_and_results():
    at = open_page("app_pages/contrastive.py", **{"global.dataset": "digits", "global.seconds": 5})
    assert "InfoNCE explorer" in "\n".join(h.value for h in at.header)
    at.button(key="contrastive.train").click().run()
    job = at.session_state["contrastive.job"]
    # changing a setting while training neither kills nor restarts the run
    at.select_slider(key="contrastive.simclr.temperature").set_value(0.5).run()
    assert at.session_state["contrastive.job"] is job and job.view().status in ("queued", "running", "done")
    wait_for_job(at)
    assert job.view().status == "done", job.view().message
    summary = job.view().state["summary"]
    assert summary["config"]["temperature"] == 0.2  # the run kept the settings it started with
    assert not at.exception and "Linear probe: SimCLR" in texts(at) and "2 labels per class" in texts(at)
    assert 0 <= summary["probe_2_per_class_acc"] <= 1 and "random_init_probe_10_per_class_acc" in summary
    assert "your **trained** model" in texts(at)
    # the neighbour explorer: each space's 8 nearest training images of the picked test image, with the share that matches
    found = job.view().state["neighbours"]
    assert set(found["index"]) == {"trained", "raw pixels", "random init"} and found["index"]["trained"].shape == (found["queries"], 8)
    assert "Nearest neighbours" in "\n".join(h.value for h in at.subheader)
    shares = [c.value for c in at.caption if "share the query's class" in c.value]
    assert len(shares) == 3 and all(0 <= found["same_class"][s] <= 1 for s in found["same_class"])
    at.number_input(key="contrastive.neighbour_query").set_value(5).run()
    train_set, test_set = data.load("digits", "train"), data.load("digits", "test")
    matches = int((train_set.labels[found["index"]["trained"][5]] == test_set.labels[5]).sum())
    assert not at.exception and [c.value for c in at.caption if "share the query's class" in c.value][0].startswith(f"SimCLR: {matches} of 8 share")
    # the embedding: every point's own test image in its tooltip, a click selects it (the browser test clicks one)
    charts = [c.proto for c in at.get("vega_lite_chart") if "test images (PCA)" in c.proto.spec]
    assert len(charts) == 1, "no embedding chart with image tooltips"
    spec, points = json.loads(charts[0].spec), pa.ipc.open_stream(charts[0].data.data).read_pandas()  # Streamlit sends the rows as Arrow
    assert len(points) == len(job.view().state["embedding"]) == found["queries"]
    assert points["image"][5] == viz.data_urls(test_set.images[5:6])[0] and points["class"][5] == test_set.class_names[int(test_set.labels[5])]
    assert {"image", "class"} <= {t["field"] for t in spec["encoding"]["tooltip"]} and spec["params"][0]["name"] == "picked"
    at.radio(key="contrastive.projection").set_value("t-SNE").run()
    titles = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert not at.exception and any("test images (t-SNE)" in t for t in titles), "the embedding chart is not the t-SNE one"


def test_contrastive_nan_setting_gives_clear_message_and_page_keeps_working():
    at = open_page("app_pages/contrastive.py", **{"global.dataset": "digits", "global.seconds": 5})
    at.select_slider(key="contrastive.simclr.lr").set_value(1e12).run()
    train(at, "contrastive")
    assert not at.exception
    assert any("diverged" in e.value and "learning rate" in e.value for e in at.error)
    at.select_slider(key="contrastive.tau").set_value(1.0).run()  # the explorer still works
    assert not at.exception


def test_infonce_explorer_widgets():
    at = open_page("app_pages/contrastive.py")
    loss_low = [m for m in at.metric if "Loss" in m.label][0].value
    at.select_slider(key="contrastive.tau").set_value(2.0).run()
    loss_high = [m for m in at.metric if "Loss" in m.label][0].value
    assert loss_low != loss_high
    at.number_input(key="contrastive.anchor").set_value(20).run()
    assert not at.exception
    at.radio(key="contrastive.quiz").set_value("The predictor plus a target that receives no gradient (stop-gradient / moving average)").run()
    assert at.success and "Correct" in at.success[0].value


def test_two_sessions_see_only_their_own_runs():
    a = open_page("app_pages/contrastive.py", **{"global.dataset": "digits", "global.seconds": 5, "global.seed": 1})
    b = open_page("app_pages/contrastive.py", **{"global.dataset": "digits", "global.seconds": 5, "global.seed": 2})
    a.button(key="contrastive.train").click().run()
    assert "contrastive.job" not in b.session_state
    b.button(key="contrastive.train").click().run()
    wait_for_job(a)
    wait_for_job(b)
    ja, jb = a.session_state["contrastive.job"], b.session_state["contrastive.job"]
    assert ja is not jb
    assert ja.view().state["summary"]["seed"] == 1 and jb.view().state["summary"]["seed"] == 2


@pytest.mark.parametrize("method", ["moco", "byol", "simsiam"])
def test_every_method_has_its_controls(method):
    at = open_page("app_pages/contrastive.py")
    at.selectbox(key="contrastive.method").set_value(method).run()
    assert not at.exception
    keys = {w.key for w in at.select_slider} | {w.key for w in at.toggle}
    expected = {"moco": {"contrastive.moco.queue_size", "contrastive.moco.momentum", "contrastive.moco.temperature"},
                "byol": {"contrastive.byol.momentum", "contrastive.byol.use_predictor"},
                "simsiam": {"contrastive.simsiam.stop_gradient", "contrastive.simsiam.projector_output_norm"}}[method]
    assert expected <= keys


def test_break_it_collapse_is_flagged_on_the_page():
    # SimSiam without stop-gradient is flagged after ~80 steps; a break-it runs at least its registry's break_steps (120)
    # whatever the budget, so the shortest budget shows it on a loaded CI machine too
    at = open_page("app_pages/contrastive.py", **{"global.dataset": "digits", "global.seconds": 5})
    label = [b for b in at.button if b.label == "SimSiam without stop-gradient"][0]
    label.click().run()
    wait_for_job(at)
    assert not at.exception
    assert any("Collapse detected" in e.value for e in at.error), [e.value for e in at.error]
    assert "This run **collapsed**" in texts(at) and "taught the encoder to ignore" not in texts(at)  # the verdict follows the run


def test_a_run_without_augmentation_is_not_credited_with_learning_invariances():
    at = open_page("app_pages/contrastive.py", **{"global.dataset": "shapes", "global.seconds": 5})
    [b for b in at.button if b.label == "SimCLR without augmentation"][0].click().run()
    wait_for_job(at)
    shown = texts(at)
    assert not at.exception and "No augmentation: the two views of an image are identical" in shown
    assert "rewarded features that ignore it" not in shown


def test_compare_all_four():
    at = open_page("app_pages/contrastive.py", **{"global.dataset": "digits"})
    at.slider(key="contrastive.compare.seconds").set_value(5).run()
    train(at, "contrastive.compare", timeout=240)
    assert not at.exception
    results = at.session_state["contrastive.compare.job"].view().state["results"]
    assert set(results) == {"simclr", "moco", "byol", "simsiam"}
    assert len({r["seed"] for r in results.values()}) == 1 and all(r["dataset"] == "digits" for r in results.values())
    batches = {r["train_config"]["batch_size"] for r in results.values()}
    assert len(batches) == 1 or "Each method runs with its own tuned batch size" in texts(at)  # a comparison says where it differs


def test_mae_pipeline_train_and_reconstruct():
    at = open_page("app_pages/mae.py", **{"global.dataset": "digits", "global.seconds": 5})
    assert "1 · The pipeline, step by step" in "\n".join(h.value for h in at.header)
    assert "49 patches" in texts(at) and "encoder processes 12 tokens" in texts(at)
    assert any("after a training run" in i.value for i in at.info)  # no model yet: says so
    at.select_slider(key="mae.ratio").set_value(0.5).run()
    assert "encoder processes 25 tokens" in texts(at)  # round(0.5 · 49) = 24 hidden
    at.select_slider(key="mae.patch.digits").set_value(7).run()
    assert "16 patches" in texts(at)
    at.select_slider(key="mae.patch.digits").set_value(4).run()
    train(at, "mae")
    view = at.session_state["mae.job"].view()
    assert view.status == "done", view.message
    assert view.state["summary"]["config"]["mask_ratio"] == 0.5 and "test_masked_mse" in view.state["summary"]
    assert not at.exception and "Why the protocol matters" in texts(at) and "Held-out reconstruction error" in texts(at)
    assert not any("after a training run" in i.value for i in at.info)  # the pipeline now shows the reconstruction
    assert "the trained encoder's attention on this image" in texts(at)
    at.number_input(key="mae.index").set_value(7).run()
    assert not at.exception
    at.toggle(key="mae.encode_all").set_value(True).run()
    at.button(key="mae.time").click().run()
    assert not at.exception and [m.label for m in at.metric][-1] == "Speed-up" and float(at.metric[-1].value.rstrip("×")) > 0
    answer_quiz(at, "mae", "Because visible patches can be copied from the input, which teaches nothing")


def test_mae_sweep_and_comparison():
    at = open_page("app_pages/mae.py", **{"global.dataset": "digits"})
    at.multiselect(key="mae.sweep.ratios").set_value([0.5, 0.9]).run()
    at.slider(key="mae.sweep.seconds").set_value(5).run()
    train(at, "mae.sweep")
    results = at.session_state["mae.sweep.job"].view().state["results"]
    assert list(results) == ["50%", "90%"] and [r["config"]["mask_ratio"] for r in results.values()] == [0.5, 0.9]
    by_error = min(results, key=lambda r: results[r]["test_masked_mse"])
    by_knn = max(results, key=lambda r: results[r]["knn_acc"])
    verdict = (f"the lowest held-out error and the best kNN are both at {by_error}" if by_error == by_knn else
               f"the lowest held-out error is at {by_error} but the best kNN at {by_knn}")
    assert not at.exception and verdict in texts(at)  # the caption is computed from this sweep
    at.multiselect(key="mae.compare.methods").set_value(["mae", "simclr"]).run()
    at.slider(key="mae.compare.seconds").set_value(5).run()
    train(at, "mae.compare")
    results = at.session_state["mae.compare.job"].view().state["results"]
    assert set(results) == {"MAE", "SimCLR"} and not at.exception and "fine-tuning" in texts(at)
    at.multiselect(key="mae.compare.methods").set_value([]).run()
    assert any("Pick at least one method" in i.value for i in at.info)


def test_clustering_rounds_galleries_and_scores():
    at = open_page("app_pages/clustering.py", **{"global.dataset": "digits", "global.seconds": 5})
    assert not at.exception and "Trivial solutions" in "\n".join(h.value for h in at.header)
    at.select_slider(key="cluster.steps.digits").set_value(10).run()
    at.slider(key="cluster.k").set_value(12).run()
    train(at, "cluster")
    view = at.session_state["cluster.job"].view()
    assert view.status == "done", view.message
    rounds = view.state["rounds"]
    assert len(rounds) >= 2 and rounds[0]["round"] == 1 and "changed" in rounds[1]
    assert all(0 <= r["nmi"] <= 1 and len(r["sizes"]) == 12 for r in rounds)
    assert view.state["summary"]["config"]["k"] == 12
    assert not at.exception and "NMI with the true class" in texts(at) and "Cluster galleries, round" in texts(at)
    assert len(at.get("image")) >= 6  # the galleries of the six biggest clusters
    at.select_slider(key="cluster.round").set_value(1).run()  # go back in time
    assert not at.exception and "Cluster galleries, round 1" in texts(at)


def test_clustering_collapse_demo_and_comparison():
    at = open_page("app_pages/clustering.py", **{"global.dataset": "digits"})
    at.slider(key="cluster.collapsed").set_value(0.95).run()
    assert not at.exception
    at.slider(key="cluster.compare.seconds").set_value(5).run()
    rows = train(at, "cluster.compare", timeout=180).state["rows"]
    assert list(rows) == ["raw pixels", "random-init CNN", "SimCLR (5 s)", "DeepCluster (5 s)"]
    assert all(0 <= r["nmi"] <= 1 for r in rows.values())
    answer_quiz(at, "cluster", "So that a few huge clusters cannot dominate the loss and let the network predict one cluster for everything")


@pytest.mark.parametrize("task", ["autoencoder", "rotation", "jigsaw", "inpainting", "colorization"])
def test_pretext_tab_trains_and_shows_predictions_and_layers(task):
    at = open_page("app_pages/pretext.py", **{"global.dataset": "shapes", "global.seconds": 5})
    assert len(at.tabs) == 5 and "The pseudo-label:" in texts(at)
    train(at, f"pretext.{task}")
    view = at.session_state[f"pretext.{task}.job"].view()
    assert view.status == "done", view.message
    assert set(view.state["layers"]["trained"]) == {1, 2, 3} and "knn_acc" in view.state["summary"]
    assert not at.exception and "What the network predicts on held-out images" in texts(at) and "block 1: kNN" in texts(at)


def test_pretext_settings_digits_colorization_and_transfer_panel():
    at = open_page("app_pages/pretext.py", **{"global.dataset": "digits"})
    assert any("there is no colour to predict" in w.value for w in at.warning)  # colorization explains instead of crashing
    assert "pretext.colorization.train" not in {b.key for b in at.button}
    at.select_slider(key="pretext.autoencoder.latent_dim").set_value(2).run()
    at.select_slider(key="pretext.jigsaw.gap").set_value(0).run()
    at.select_slider(key="pretext.rotation.transfer_layer").set_value(1).run()
    assert not at.exception
    at.slider(key="pretext.transfer.seconds").set_value(5).run()
    results = train(at, "pretext.transfer", timeout=240).state["results"]
    assert list(results) == ["Autoencoder", "Rotation", "Jigsaw", "Inpainting"]
    assert not at.exception and "hand-designed" in texts(at)
    answer_quiz(at, "pretext", "The shapes are drawn at random angles and many are symmetric, so the rotation cannot be inferred from the image")


EXTREMES = {  # page -> (widget kind, key, smallest value, largest value); None: the first/last option
    "app_pages/augmentations.py": [("slider", "aug.crop", 0.05, 1.0), ("slider", "aug.rotation", 0.0, 180.0), ("slider", "aug.jitter", 0.0, 1.0),
                                   ("slider", "aug.blur", 0.0, 1.0), ("slider", "aug.solarize", 0.0, 1.0), ("slider", "aug.erase", 0.0, 1.0)],
    "app_pages/collapse.py": [("slider", "collapse.seconds", 5, 60), ("select_slider", "collapse.inside.simclr.batch_size", 2, 512),
                              ("select_slider", "collapse.inside.simclr.lr", 1e-4, 10.0)],
    "app_pages/contrastive.py": [("select_slider", "contrastive.simclr.batch_size", 2, 512), ("select_slider", "contrastive.simclr.lr", 1e-4, 10.0),
                                 ("select_slider", "contrastive.simclr.width", 4, 64), ("select_slider", "contrastive.simclr.proj_dim", 2, 128),
                                 ("select_slider", "contrastive.simclr.temperature", 0.01, 2.0)],
    "app_pages/mae.py": [("select_slider", "mae.patch.{dataset}", None, None), ("select_slider", "mae.ratio", 0.1, 0.9),
                         ("select_slider", "mae.depth", 1, 6), ("select_slider", "mae.width", 32, 128)],
    "app_pages/clustering.py": [("slider", "cluster.k", 2, 100), ("select_slider", "cluster.steps.{dataset}", 10, 200)],
    "app_pages/downstream.py": [("slider", "down.seeds", 1, 5), ("select_slider", "down.steps", 100, 3000), ("slider", "down.weak.noise", 0.0, 0.9)],
    "app_pages/multimodal.py": [("number_input", "mm.audio.index", 0, 999), ("text_area", "mm.prompts", "", "a red dog " * 2000)],
    "app_pages/pretext.py": [("select_slider", "pretext.autoencoder.latent_dim", 2, 128), ("select_slider", "pretext.autoencoder.noise_std", 0.0, 0.5),
                             ("select_slider", "pretext.jigsaw.gap", 0, 4), ("select_slider", "pretext.inpainting.hole", 0.2, 0.6),
                             ("select_slider", "pretext.rotation.transfer_layer", 1, 3)],
}
# The downstream and multi-modal pages train in their own tests, with small budgets.
TRAIN_KEYS = {"app_pages/augmentations.py": [], "app_pages/downstream.py": [], "app_pages/multimodal.py": [], "app_pages/contrastive.py": ["contrastive"], "app_pages/collapse.py": ["collapse.inside"], "app_pages/mae.py": ["mae"],
              "app_pages/clustering.py": ["cluster"], "app_pages/pretext.py": ["pretext.autoencoder", "pretext.jigsaw", "pretext.inpainting"]}


@pytest.mark.parametrize("page_path", sorted(EXTREMES))
@pytest.mark.parametrize("end", ["smallest", "largest"])
def test_extreme_settings_end_in_a_result_or_a_clear_message(page_path, end):
    # The largest settings run on shapes (the largest images), except clustering's: k = 100 and 200 steps a round for its
    # three rounds are the extreme there, and on shapes they took a minute of the suite for no more coverage.
    dataset = "digits" if end == "smallest" or page_path.endswith("clustering.py") else "shapes"
    at = open_page(page_path, **{"global.dataset": dataset, "global.seconds": 5})
    for kind, key, low, high in EXTREMES[page_path]:
        widget = getattr(at, kind)(key=key.format(dataset=dataset))
        options = getattr(widget, "options", None)
        value = (low if end == "smallest" else high) if low is not None else None
        if value is None:  # options depend on the data (patch sizes): take the first or last
            value = type(widget.value)(options[0] if end == "smallest" else options[-1])
        widget.set_value(value).run()
        assert not at.exception, (key, value, [e.value for e in at.exception])
    if page_path.endswith("augmentations.py"):
        assert "Sixteen random views" in texts(at)
    for key in TRAIN_KEYS[page_path]:
        at.button(key=f"{key}.train").click().run()
        job, stopped = at.session_state[f"{key}.job"], False
        if key == "cluster" and end == "largest":
            # The largest steps a round: the page runs three clusterings. Two at k = 100, and training on the second's
            # pseudo-labels, exercise what is extreme here; the third would cost ~40 s of the suite for no more.
            until_steps = deepcluster.steps_for_rounds(at.select_slider(key=f"cluster.steps.{dataset}").value, 2) + 1
            until(lambda: len(job.view().history) >= until_steps or not job.view().active, "two clusterings at k = 100")
            stopped = job.view().active
            job.stop("by the test")
        wait_for_job(at, key, timeout=180)
        view = job.view()
        assert view.status in ("done", "failed") + (("stopped",) if stopped else ()) and view.message, (key, view.status, view.message)
        if stopped:
            assert len(view.history) >= until_steps and "Stopped by the test after" in view.message, (view.status, view.message)
            assert "summary" in view.state and view.state.get("rounds"), list(view.state)  # a stopped run still shows its results
        if view.status == "failed":  # a specific message written for the user, never a raw exception
            assert view.state.get("error_type") == "ValueError", (key, view.message)
            assert not re.search(r"^\w+(Error|Exception)\b|Traceback|torch\.Size|tensor\(|unexpectedly", view.message), (key, view.message)
        assert not at.exception, [e.value for e in at.exception]


def test_downstream_page_evaluates_compares_and_weak_supervision():
    at = open_page("app_pages/downstream.py", **{"global.dataset": "shapes", "global.seconds": 5})
    assert "Colorization" in at.multiselect(key="down.encoders").options and "SimCLR without colour jitter" in at.multiselect(key="down.encoders").options
    assert "Run the evaluation in section 1 first" in texts(at)  # the weak-supervision panel needs an SSL encoder
    at.multiselect(key="down.encoders").set_value([]).run()
    assert "Choose at least one encoder." in texts(at) and "down.train" not in [b.key for b in at.button]
    at.multiselect(key="down.encoders").set_value(["SimCLR"]).run()
    at.multiselect(key="down.fractions").set_value(["1%", "100%"]).run()
    at.slider(key="down.seeds").set_value(1).run()
    at.select_slider(key="down.steps").set_value(100).run()
    train(at, "down", timeout=300)
    assert not at.exception, [e.value for e in at.exception]
    view = at.session_state["down.job"].view()
    assert view.status == "done", view.message
    assert {(r["mode"], r["fraction"]) for r in view.state["rows"]} == {(m, f) for m in ("linear probe", "fine-tune", "supervised from scratch") for f in (0.01, 1.0)}
    shown = texts(at)
    assert "points**" in shown and "With **1%** of the labels (30 images)" in shown
    assert "Same for every encoder: the CNN backbone" in shown and "Text summary: SimCLR: class" in shown and "most common mistake" in shown
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert len(charts) >= 4  # curves, attributes, PCA, confusion
    at.radio(key="down.attr_how").set_value("kNN").run()
    at.radio(key="down.projection").set_value("t-SNE").run()
    assert not at.exception and any("t-SNE of 500 test images" in str(c.proto.spec) for c in at.get("plotly_chart"))
    # weak supervision with the encoder just trained
    at.slider(key="down.weak.noise").set_value(0.9).run()
    train(at, "down.weak", timeout=120)
    assert "90% wrong →" in texts(at) and "Clean: 30 labels →" in texts(at)


def test_downstream_preset_sets_digits_and_starts_and_can_be_cancelled():
    at = open_page("app_pages/downstream.py")
    at.button(key="down.preset").click().run()
    assert at.session_state["global.dataset"] == "digits" and at.session_state["global.seconds"] == 60
    assert at.multiselect(key="down.fractions").value == ["1%", "10%", "100%"] and at.slider(key="down.seeds").value == 3
    job = at.session_state["down.job"]
    assert job.view().active
    job.stop()
    wait_for_job(at, "down", timeout=120)
    assert job.view().status == "stopped" and not at.exception
    assert "Colorization" not in at.multiselect(key="down.encoders").options  # digits are grey


@pytest.mark.parametrize("page_path", sorted(EXTREMES))
def test_every_page_renders_on_every_dataset(page_path):
    for dataset in data.names():
        at = open_page(page_path, **{"global.dataset": dataset})
        assert not at.exception, (dataset, [e.value for e in at.exception])
        assert not at.error, (dataset, [e.value for e in at.error])


def evaluate_the_reused_encoder(at: AppTest) -> JobView:
    """On the Downstream page, after a SimCLR run on the Contrastive page: pick that run's encoder (the only one), evaluate it
    (5% of the labels, one seed, 100 steps, no scratch baseline) and return the evaluation's view."""
    at.switch_page("app_pages/downstream.py").run()
    reused = [o for o in at.multiselect(key="down.encoders").options if "trained on another page" in o]
    assert len(reused) == 1 and reused[0].startswith("SimCLR"), at.multiselect(key="down.encoders").options
    at.multiselect(key="down.encoders").set_value(reused).run()
    at.multiselect(key="down.fractions").set_value(["5%"]).run()
    at.slider(key="down.seeds").set_value(1).run()
    at.select_slider(key="down.steps").set_value(100).run()
    at.checkbox(key="down.scratch").uncheck().run()
    assert "0 encoder" not in texts(at) and "pre-training" in texts(at)
    view = train(at, "down", timeout=120)
    assert view.status == "done" and view.state["pretrain"][reused[0]]["note"] == "not pre-trained here: from another page or models/"
    assert {r["encoder"] for r in view.state["rows"]} == {reused[0]} and not at.exception
    return view


def test_downstream_reuses_an_encoder_trained_on_another_page():
    at = open_page("app_pages/contrastive.py", **{"global.dataset": "digits", "global.seconds": 5})
    train(at, "contrastive")
    evaluate_the_reused_encoder(at)


def test_downstream_warns_before_a_run_longer_than_the_server_allows():
    at = open_page("app_pages/downstream.py", **{"global.dataset": "digits", "global.seconds": 120})
    assert "more than the server allows" not in texts(at)
    at.multiselect(key="down.fractions").set_value(["1%", "5%", "10%", "25%", "100%"]).run()
    at.slider(key="down.seeds").set_value(5).run()
    at.select_slider(key="down.steps").set_value(3000).run()
    assert "more than the server allows one run (15 min)" in texts(at) and not at.exception


def test_multimodal_every_tab_trains_and_typed_prompts_classify():
    at = open_page("app_pages/multimodal.py", **{"global.dataset": "digits", "global.seconds": 5})
    assert [t.label for t in at.tabs] == ["Image + text: CLIP", "Image + text: VirTex", "Image + video", "Image + depth", "Image + audio"]
    # before any run, the explorers use the shipped models and say so (a zero-shot prompt box that works at once)
    assert "this page uses shapes" in texts(at) and "shipped CLIP model" in texts(at) and "Train CLIP above" not in texts(at)
    assert at.number_input(key="mm.depth.query").value == 0  # the depth tab's retrieval explorer is there before a run
    for name in methods.of_family("multi-modal"):
        train(at, f"mm.{name}")
        assert not at.exception, (name, [e.value for e in at.exception])
        view = at.session_state[f"mm.{name}.job"].view()
        assert view.status == "done" and view.state["summary"]["dataset"] == "shapes", (name, view.message)
        if name != "virtex":  # the retrieval explorer of every cross-modal pairing
            at.number_input(key=f"mm.{name}.query").set_value(7).run()
            assert not at.exception, (name, [e.value for e in at.exception])
    shown = texts(at)
    assert "Text summary: kNN" in shown and "Zero-shot accuracy on held-out test images" in shown
    subheaders = " ".join(h.value for h in at.subheader)
    assert "What do the captions get right?" in subheaders and "Captions for held-out combinations" in subheaders
    assert "Retrieval among 100 held-out pairs" in shown and "Listen to sound 7" in shown
    assert "Image → text: the 5 of 100 held-out captions closest to image 7" in shown
    # zero-shot with typed prompts: unknown words are named, the rest classify
    at.text_area(key="mm.prompts").input("a red\nsomething blue\na photo of a dog").run()
    assert any("lacks 'photo', 'of', 'dog'" in w.value for w in at.warning)
    heat = next(c.proto.spec for c in at.get("plotly_chart") if "Softmax over your prompts" in c.proto.spec)
    assert '"a red"' in heat and '"something blue"' in heat and "dog" not in heat
    at.text_input(key="mm.query").input("a green circle").run()
    assert "closest to “a green circle”" in texts(at)
    at.text_input(key="mm.query").input("a green dog").run()
    assert any("lacks 'dog'" in w.value for w in at.warning) and not at.exception
    at.text_input(key="mm.query").input("something " * 2000).run()
    assert any("too long" in w.value for w in at.warning) and not at.exception
    # why language: the CLIP run above is reused, SimCLR trains
    train(at, "mm.why", timeout=180)
    assert "Text summary: class: CLIP" in texts(at) and not at.exception


def test_use_pretrained_shows_the_shipped_model_with_its_manifest_accuracy_and_is_instant_after_the_first_load():
    entry = checkpoints.read_manifest()["simclr/shapes"]
    at = open_page("app_pages/contrastive.py", **{"global.dataset": "shapes"})
    at.button(key="contrastive.pretrained").click().run()  # the first load scores the model, in the background (shared by every later session)
    wait_for_job(at)
    view = at.session_state["contrastive.job"].view()
    assert view.status == "done" and not at.exception, view.message
    assert view.state["summary"]["probe_acc"] == pytest.approx(entry["probe_acc"], abs=0.005)
    assert view.state["summary"]["knn_acc"] == pytest.approx(entry["knn_acc"], abs=0.005)
    assert len(view.history) == entry["steps"] and "Pretrained: simclr-shapes.safetensors" in texts(at)
    assert len(at.get("plotly_chart")) >= 3  # curves, embedding and accuracies, as after a live run
    fresh = open_page("app_pages/contrastive.py", **{"global.dataset": "shapes"})
    fresh.button(key="contrastive.pretrained").click().run()
    # Instant after the first load (timed in benchmarks/page_render.py): the click itself yields the finished run, no job runs again.
    assert fresh.session_state["contrastive.job"].view().status == "done" and not fresh.session_state["contrastive.shared"]
    assert fresh.session_state["contrastive.job"] is not at.session_state["contrastive.job"]  # each session its own job
    on_digits = open_page("app_pages/contrastive.py", **{"global.dataset": "digits"})
    assert on_digits.button(key="contrastive.pretrained").disabled


def test_use_pretrained_on_the_multimodal_tabs():
    at = open_page("app_pages/multimodal.py")
    at.button(key="mm.clip.pretrained").click().run()
    wait_for_job(at, "mm.clip")
    assert at.session_state["mm.clip.job"].view().status == "done" and not at.exception
    assert "Zero-shot accuracy on held-out test images" in texts(at)
    at.text_area(key="mm.prompts").input("something red\nsomething blue").run()
    assert any("Softmax over your prompts" in c.proto.spec for c in at.get("plotly_chart"))


def test_a_shared_link_restores_the_settings_and_names_the_ones_it_cannot_use():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({"dataset": "digits", "seed": "7", "seconds": "abc", "method": "moco", "batch_size": "64", "temperature": "0.5", "lr": "99"})
    at.run()
    assert any("seconds='abc' is not one of 5…120" in w.value for w in at.warning)
    at.switch_page("app_pages/contrastive.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("lr='99' is not one of" in w.value for w in at.warning)
    s = at.session_state
    assert (s["global.dataset"], s["global.seed"], s["global.seconds"]) == ("digits", 7, 30)  # the bad budget kept its default
    assert (s["contrastive.method"], s["contrastive.moco.batch_size"], s["contrastive.moco.temperature"], s["contrastive.moco.lr"]) == ("moco", 64, 0.5, 0.002)
    assert at.selectbox(key="contrastive.method").value == "moco" and at.select_slider(key="contrastive.moco.batch_size").value == 64
    shared = {k: at.query_params[k] for k in ("dataset", "seed", "seconds", "method", "batch_size", "temperature", "lr")}
    assert shared == {"dataset": "digits", "seed": "7", "seconds": "30", "method": "moco", "batch_size": "64", "temperature": "0.5", "lr": "0.002"}
    # the corrected link now opens the same setup in a new session, without notices
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    again.query_params.update(shared)
    again.run()
    again.switch_page("app_pages/contrastive.py")
    again.run()
    assert not again.warning and again.session_state["contrastive.moco.batch_size"] == 64 and again.session_state["global.seed"] == 7


@pytest.mark.parametrize("page_path, link, expected", [
    ("app_pages/mae.py", {"ratio": "0.5", "depth": "2", "norm_pix": "False", "width": "7"}, {"mae.ratio": 0.5, "mae.depth": 2, "mae.norm_pix": False, "mae.width": 96}),
    ("app_pages/clustering.py", {"k": "12", "sobel": "False", "steps_per_round": "25"}, {"cluster.k": 12, "cluster.sobel": False, "cluster.steps.shapes": 25}),
    ("app_pages/pretext.py", {"rotation.transfer_layer": "3", "autoencoder.latent_dim": "8", "jigsaw.gap": "9"},
     {"pretext.rotation.transfer_layer": 3, "pretext.autoencoder.latent_dim": 8, "pretext.jigsaw.gap": methods.default_config("jigsaw", "shapes").gap}),
    ("app_pages/downstream.py", {"seeds": "1", "steps": "300", "finetune": "False"}, {"down.seeds": 1, "down.steps": 300, "down.finetune": False}),
    ("app_pages/multimodal.py", {"jitter": "False"}, {"mm.temporal.jitter": False}),
])
def test_every_page_with_settings_reads_them_from_a_link(page_path, link, expected):
    at = AppTest.from_file(str(ROOT / page_path), default_timeout=TIMEOUT)
    at.query_params.update(link)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert {key: at.session_state[key] for key in expected} == expected  # invalid values (width=7, gap=9) keep the defaults
    invalid = [name for name in link if name in ("width", "jigsaw.gap")]
    assert bool(at.warning) == bool(invalid) and all(any(f"{name}=" in w.value for w in at.warning) for name in invalid)
    assert all(at.query_params[name] == str(value) for name, value in link.items() if name not in invalid)


def test_downstream_evaluates_a_shipped_pretrained_encoder_without_pretraining():
    at = open_page("app_pages/downstream.py", **{"global.dataset": "shapes", "global.seconds": 5})
    label = "SimCLR (pretrained, 500 steps)"
    assert label in at.multiselect(key="down.encoders").options
    at.multiselect(key="down.encoders").set_value([label]).run()
    at.multiselect(key="down.fractions").set_value(["100%"]).run()
    at.slider(key="down.seeds").set_value(1).run()
    at.checkbox(key="down.finetune").uncheck().run()
    at.checkbox(key="down.scratch").uncheck().run()
    train(at, "down", timeout=180)
    view = at.session_state["down.job"].view()
    assert view.status == "done" and view.state["pretrain"][label]["steps"] == 0 and not at.exception, view.message
    probe = [r["accuracy"] for r in view.state["rows"] if r["encoder"] == label]
    assert probe and probe[0] == pytest.approx(checkpoints.read_manifest()["simclr/shapes"]["probe_acc"], abs=0.005)


def test_import_a_run_restores_the_page_and_refuses_a_foreign_or_broken_bundle():
    from sslviz import bundles, experiment

    run = experiment.run("simclr", "digits", seconds=None, steps=3, seed=4, method_overrides={"width": 4})
    blob = bundles.export(run)
    at = open_page("app_pages/contrastive.py", **{"global.dataset": "digits"})
    at.file_uploader(key="contrastive.import").set_value(("my-run.zip", blob, "application/zip")).run()
    wait_for_import(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    view = at.session_state["contrastive.job"].view()
    assert view.status == "done" and view.state["summary"]["probe_acc"] == run.summary()["probe_acc"] and view.state["summary"]["seed"] == 4
    assert len(view.history) == 3 and "Restored my-run.zip" in texts(at) and len(at.get("plotly_chart")) >= 3
    at.file_uploader(key="contrastive.import").set_value(("broken.zip", blob[:1000], "application/zip")).run()
    wait_for_import(at)
    assert not at.exception and "broken.zip" in at.error[0].value
    mae = bundles.export(experiment.run("mae", "digits", seconds=None, steps=1, seed=0, method_overrides={"width": 32, "depth": 1}, with_baselines=False))
    at.file_uploader(key="contrastive.import").set_value(("mae.zip", mae, "application/zip")).run()
    wait_for_import(at)
    assert "holds a mae run; this section shows simclr runs" in at.error[0].value
    assert at.session_state["contrastive.job"].view().state["summary"]["seed"] == 4  # the restored run is kept


def test_use_pretrained_deepcluster_shows_clusters_of_its_final_features():
    at = open_page("app_pages/clustering.py", **{"global.dataset": "shapes"})
    at.button(key="cluster.pretrained").click().run()
    wait_for_job(at, "cluster")
    view = at.session_state["cluster.job"].view()
    assert view.status == "done" and view.state["rounds_final"] and len(view.state["rounds"]) == 1 and not at.exception
    assert "k-means on the loaded model's features" in texts(at) and "Cluster galleries" in texts(at)


def test_the_infonce_explorer_opens_on_the_shipped_model_where_there_is_one():
    """Before any run, the explorer's softmax means something: the shipped SimCLR model finds the positive far above chance;
    on a dataset without a shipped model the page says it uses a random-init network, whose p(positive) sits near chance."""
    def p_positive(at: AppTest) -> float:
        return float(next(m.value for m in at.metric if m.label == "p(positive)"))

    shipped = open_page("app_pages/contrastive.py")
    assert "Using the **shipped SimCLR model** (models/, 500 steps on shapes)" in texts(shipped)
    chance = 1 / 31  # 16 images, two views each: one positive among 31 candidates
    assert p_positive(shipped) > 5 * chance
    fresh = open_page("app_pages/contrastive.py", **{"global.dataset": "digits"})
    assert "Using a **random-init** network (no model is shipped for this dataset" in texts(fresh)
    assert p_positive(fresh) < 2 * chance < p_positive(shipped)
