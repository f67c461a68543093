"""Issue 17's promise: a new method is one file plus one registry call — no other file is edited.

The toy method lives in tests/fixtures/toy_method.py; these tests register it with one call and
check that every page, the CLI, the downstream page and shared links pick it up.
"""

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sslviz import checkpoints, methods
from sslviz.__main__ import main as cli
from sslviz.jobs import MAX_JOB_SECONDS
from tests.fixtures import toy_method

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "app_pages").glob("*.py"))]


@pytest.fixture
def toy():
    methods.register(toy_method.SPEC)  # the one call
    yield "toy"
    methods.unregister("toy")


def page(path: str, **query) -> AppTest:
    """Open ``path`` as a visitor does: through app.py's navigation (Home's page links need it)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["global.dataset"] = "digits"
    at.query_params.update(query)
    at.run()
    if path != "app.py":
        at.switch_page(path)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_registered_in_its_family(toy):
    assert toy in methods.of_family("contrastive") and toy not in methods.of_family("pretext")
    assert methods.spec(toy).settings()["temperature"].options == (0.1, 0.5, 1.0)
    assert methods.default_config(toy, "digits").augment == "digits"  # the dataset's preset, from its DatasetInfo


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_it(toy, path):
    page(path)


def test_contrastive_page_lists_and_trains_it_and_its_settings_travel_in_the_link(toy):
    at = page("app_pages/contrastive.py", method="toy", temperature="1.0", batch_size="32")
    assert at.selectbox(key="contrastive.method").value == "toy"
    assert at.select_slider(key="contrastive.toy.temperature").value == 1.0 and at.select_slider(key="contrastive.toy.batch_size").value == 32
    assert at.query_params["temperature"] == "1.0" and at.query_params["method"] == "toy"
    at.session_state["global.seconds"] = 5
    at.button(key="contrastive.train").click().run()
    job = at.session_state["contrastive.job"]
    end = time.time() + MAX_JOB_SECONDS  # a hang guard: no job outlives the runner's watchdog
    while job.view().active and time.time() < end:
        time.sleep(0.5)
    view = job.view()
    assert view.status == "done", view.message
    assert view.state["summary"]["method"] == "toy" and view.state["summary"]["config"]["temperature"] == 1.0
    assert view.state["summary"]["train_config"]["batch_size"] == 32 and view.history


def test_downstream_and_mae_comparison_offer_it(toy):
    at = page("app_pages/downstream.py")
    assert "ToyCLR" in at.multiselect(key="down.encoders").options
    at = page("app_pages/mae.py")
    assert "ToyCLR" in at.multiselect(key="mae.compare.methods").options


def test_cli_bench_runs_it(toy, capsys):
    assert cli(["bench", "--method", toy, "--dataset", "digits", "--steps", "3", "--seconds", "60", "--no-baselines", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "toy" and result["steps"] == 3 and 0 <= result["probe_acc"] <= 1


def test_checkpoint_tests_skip_it_with_a_reason(toy):
    from tests.test_checkpoints import shipped_entry

    with pytest.raises(pytest.skip.Exception, match="no shipped checkpoint for toy"):
        shipped_entry(toy)
    assert shipped_entry("simclr")["method"] == "simclr"
    assert "toy/shapes" not in checkpoints.read_manifest()
