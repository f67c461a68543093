"""The lecturer's controls: a class link hides and locks controls, and presenter mode folds the page for a projector."""

from urllib.parse import parse_qsl, urlsplit

from streamlit.testing.v1 import AppTest
from test_pages import ROOT, TIMEOUT, open_page, texts, train

CONTRASTIVE = "app_pages/contrastive.py"


def teacher_link(at: AppTest, hide: list[str], lock: bool) -> dict[str, str]:
    """Build a class link with the sidebar's panel, leaving out ``hide``; return its query parameters."""
    picker = next(m for m in at.multiselect if m.key.startswith("link.shown."))
    assert set(hide) <= set(picker.value), picker.value  # every control the link carries is ticked at first
    picker.set_value([name for name in picker.value if name not in hide]).run()
    if lock:
        at.toggle(key="link.lock").set_value(True).run()
    link = next(c.value for c in at.code if "?" in c.value and "dataset=" in c.value)
    return dict(parse_qsl(urlsplit(link).query))


def test_a_class_link_leaves_out_the_hidden_controls_fixes_the_rest_and_still_trains():
    at = open_page(CONTRASTIVE, **{"global.dataset": "digits", "global.seconds": 5})
    at.select_slider(key="contrastive.simclr.temperature").set_value(0.5).run()  # the lecturer's choice, which students will not see
    params = teacher_link(at, hide=["temperature", "seed"], lock=True)
    assert params["temperature"] == "0.5" and params["temperature_hide"] == "true" and params["seed_hide"] == "true" and params["lock"] == "1"
    assert "batch_size_hide" not in params and params["dataset"] == "digits"

    student = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)  # a fresh session opening the link
    student.query_params.update(params)
    student.run()
    student.switch_page(CONTRASTIVE)
    student.run()
    assert not student.exception, [e.value for e in student.exception]
    keys = {w.key for kind in ("select_slider", "selectbox", "number_input", "slider", "toggle") for w in getattr(student, kind)}
    assert "contrastive.simclr.temperature" not in keys and "global.seed" not in keys  # absent, not just greyed out
    assert student.select_slider(key="contrastive.simclr.batch_size").disabled and student.selectbox(key="global.dataset").disabled
    assert student.slider(key="global.seconds").disabled and student.selectbox(key="contrastive.method").disabled
    assert not any(m.key.startswith("link.shown.") for m in student.multiselect)  # students get no link builder
    assert "Opened from your lecturer's link" in texts(student)
    view = train(student, "contrastive")
    assert view.status == "done", view.message
    assert view.state["config"]["temperature"] == 0.5  # the hidden control's value from the link
    assert student.query_params["lock"] == "1" and student.query_params["temperature_hide"] == "true"  # the address stays the class link


def test_presenter_mode_folds_explanations_and_enlarges_type():
    normal = open_page(CONTRASTIVE, **{"global.dataset": "digits"})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["present"] = "1"
    at.run()
    at.switch_page(CONTRASTIVE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    styles = " ".join(h.proto.body for h in at.get("html"))
    assert "html { font-size: 22px; }" in styles and "html { font-size: 22px; }" not in " ".join(h.proto.body for h in normal.get("html"))
    assert at.toggle(key="global.present").value is True
    folded = [e.label for e in at.expander]
    assert "Introduction and learning goals" in folded and "Try this" in folded
    assert "Try this" not in [s.value for s in at.subheader] and "Try this" in [s.value for s in normal.subheader]
    at.toggle(key="global.present").set_value(False).run()  # the toggle switches it off again, and the link with it
    assert "present" not in at.query_params and "Try this" in [s.value for s in at.subheader]
