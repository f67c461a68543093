"""The Collapse page: mechanisms from the registry, a mechanism's normal and broken runs with verdicts, the look-inside views, shared links."""

import pytest
from streamlit.testing.v1 import AppTest
from test_pages import ROOT, TIMEOUT, open_page, texts, train

from sslviz import methods

PAGE = "app_pages/collapse.py"
NEW = ["barlow_twins", "vicreg", "dino", "swav"]


def test_the_page_lists_every_mechanism_and_its_methods_from_the_registry():
    at = open_page(PAGE)
    table = at.table[0].value
    assert list(table.index) == list(methods.COLLAPSE_MECHANISMS)
    for name in ["simclr", "moco", "byol", "simsiam", *NEW]:
        spec = methods.spec(name)
        assert spec.title in table.loc[spec.mechanism, "methods"]
        assert all(label in table.loc[spec.mechanism, "break it"] for label in spec.breaks)
    labels = [b.label for b in at.button]
    assert any(label.startswith("Train 3 runs: DINO, DINO without centering, DINO without sharpening") for label in labels)
    assert not at.error


def test_a_mechanism_trains_its_normal_and_broken_runs_and_gives_each_a_verdict():
    at = open_page(PAGE, **{"global.dataset": "digits"})
    at.slider(key="collapse.seconds").set_value(5).run()
    view = train(at, "collapse.equipartition", timeout=240)
    assert view.status == "done", view.message
    assert set(view.state["results"]) == {"SwAV", "SwAV without equal partition"}
    table = next(d.value for d in at.dataframe if set(d.value.index) == {"SwAV", "SwAV without equal partition"})
    assert set(table["verdict"]) <= {"total collapse", "dimensional collapse", "healthy"}
    # a 5-s budget is not what ends them: both run the broken run's measured 100 steps, so its lesson shows
    assert (table["steps"] >= methods.spec("swav").break_steps).all(), table
    assert table.loc["SwAV without equal partition", "verdict"] == "total collapse", table
    shown = texts(at)
    assert "In these runs —" in shown and "Random-init network, same encoder and protocol" in shown
    titles = [str(c.proto.spec) for c in at.get("plotly_chart")]
    assert any("prototypes used" in t for t in titles) and any("Effective rank" in t for t in titles)
    assert not at.exception


def test_look_inside_dino_vit_shows_attention_next_to_the_mask():
    at = open_page(PAGE, **{"global.dataset": "shapes", "global.seconds": 5})
    at.selectbox(key="collapse.inside.method").set_value("dino").run()
    at.selectbox(key="collapse.inside.dino.backbone").set_value("vit").run()
    view = train(at, "collapse.inside", timeout=180)
    assert view.status == "done", view.message
    assert view.state["attention"].shape[1:] == (4, 8, 8)  # heads × 8×8 patches of a 32-px image
    assert 0 <= view.state["attention_on_object"] <= 1
    assert "Share of the [CLS] attention on the object's pixels" in texts(at)


def test_look_inside_barlow_twins_shows_its_cross_correlation_matrix():
    at = open_page(PAGE, **{"global.dataset": "digits", "global.seconds": 5})
    at.selectbox(key="collapse.inside.method").set_value("barlow_twins").run()
    view = train(at, "collapse.inside", timeout=180)
    assert view.status == "done", view.message
    c = view.state["snapshot"]["cross_correlation"]
    assert c.shape == (64, 64)
    assert any("Cross-correlation C" in str(ch.proto.spec) for ch in at.get("plotly_chart"))
    assert "mean diagonal" in texts(at)


@pytest.mark.parametrize("name", NEW)
def test_every_new_method_setting_round_trips_through_a_shared_link(name):
    spec = methods.spec(name)
    default = methods.default_config(name, "shapes")
    link = {"method": name}
    for field, s in spec.settings().items():  # a non-default value of every exposed setting
        options = s.options or (True, False)
        link[field] = str(next(v for v in options if v != getattr(default, field)))
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT)
    at.query_params.update(link)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["collapse.inside.method"] == name
    for field in spec.settings():
        assert str(at.session_state[f"collapse.inside.{name}.{field}"]) == link[field], field
        assert at.query_params[field] == link[field]  # and the page writes it back for the next link
    assert not at.warning


def test_all_vicreg_weights_at_zero_train_or_explain():
    at = open_page(PAGE, **{"global.dataset": "digits", "global.seconds": 5})
    at.selectbox(key="collapse.inside.method").set_value("vicreg").run()
    for field in ("invariance_weight", "variance_weight", "covariance_weight"):
        at.select_slider(key=f"collapse.inside.vicreg.{field}").set_value(0.0).run()
    view = train(at, "collapse.inside", timeout=180)
    assert view.status in ("done", "failed") and view.message
    if view.status == "failed":
        assert view.state.get("error_type") == "ValueError", view.message
    assert not at.exception


def test_a_break_it_stopped_before_its_lesson_says_how_many_steps_it_needs():
    from sslviz.ui import collapse_views

    healthy = [{"step": i, "effective_rank": 40.0, "embedding_std": 0.12, "embedding_dim": 64} for i in range(1, 13)]
    assert collapse_views.lesson_steps("Barlow Twins, λ = 0") == methods.spec("barlow_twins").break_steps == 100
    assert collapse_views.lesson_steps("SimCLR, batch 4") is None  # not a break-it of the registry: no lesson to wait for
    said = collapse_views.too_short("Barlow Twins, λ = 0", healthy)
    assert said.startswith("Barlow Twins, λ = 0: only 12 steps ran; this collapse needs about 100")
    long_enough = [{**r, "step": r["step"] + 100} for r in healthy]
    assert collapse_views.too_short("Barlow Twins, λ = 0", long_enough) is None  # it had its steps: the verdict stands
    collapsed = [{**r, "effective_rank": 1.0, "embedding_std": 0.001} for r in healthy]
    assert collapse_views.too_short("Barlow Twins, λ = 0", collapsed) is None  # the banner already shows the collapse
