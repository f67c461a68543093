"""Real browser: start the server, open every page, train SimCLR live, stop it, see no error.

Needs Playwright's Python package and a Chromium binary (Debian's `chromium`, or the path in
SSLVIZ_CHROMIUM). Locally without them the test is skipped with the reason; under CI=true a
missing browser is a failure, because .ci/run installs it.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sslviz.jobs import MAX_JOB_SECONDS
from sslviz.ui.settings import BUDGET_RANGE

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SSLVIZ_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
HANG_MS = MAX_JOB_SECONDS * 1000  # no job outlives the runner's watchdog: waiting longer than it means something hangs
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _missing() -> str | None:
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright or axe-playwright-python package is not installed (pip install -r requirements-dev.txt)"
    if not CHROMIUM:
        return "no chromium binary on PATH (apt-get install -y chromium) and SSLVIZ_CHROMIUM not set"
    return None


reason = _missing()
if reason and os.environ.get("CI") == "true":
    pytest.fail(f"browser test cannot run in CI: {reason}", pytrace=False)
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    # The server's output goes to a file: a pipe nobody reads fills up and blocks the server; the file is printed if it dies.
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    log = log_path.open("w")
    data_dir = tmp_path_factory.mktemp("data")  # uploads are stored here, not in the user's cache
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
         "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ, "SSLVIZ_DATA_DIR": str(data_dir)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300  # a hang guard: a loaded machine starts the server slowly
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"streamlit did not start: {log_path.read_text()[-4000:]}")
    yield url
    if proc.poll() is not None:
        print(f"the streamlit server exited with {proc.returncode}; its last output:\n{log_path.read_text()[-4000:]}")
    proc.terminate()
    try:
        proc.wait(120)  # a loaded machine shuts the server down slowly
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def fresh_page(browser, width: int = 1400, height: int = 1000):
    """A page in a new browser context: a visitor with no cookies and no session of their own yet."""
    pg = browser.new_context(viewport={"width": width, "height": height}).new_page()
    pg.set_default_timeout(HANG_MS)  # a hang guard, not a speed limit: a busy CI machine only makes the waits longer
    return pg


def screenshot(pg, name: str) -> None:
    """Save a screenshot under SSLVIZ_SCREENSHOTS, when it is set (to look at what the test saw)."""
    shots = os.environ.get("SSLVIZ_SCREENSHOTS")
    if shots:
        pg.screenshot(path=str(Path(shots) / f"{name}.png"))


@pytest.fixture(scope="module")
def page(browser):
    pg = fresh_page(browser)
    yield pg
    screenshot(pg, "contrastive")


def no_errors(pg) -> None:
    assert pg.get_by_test_id("stException").count() == 0, pg.get_by_test_id("stException").first.inner_text()


# Streamlit's own page list in the sidebar puts <div>s between <ul> and <li>: its markup, not the app's, listed as known.
STREAMLIT_KNOWN = {"list", "listitem"}


def settled(pg) -> None:
    """Wait until no rerun is drawing: Streamlit fades the elements it has not redrawn yet (``data-stale``)."""
    pg.wait_for_function("!document.querySelector('[data-testid=stElementContainer][data-stale=true]')")


def accessible(pg, where: str) -> None:
    """axe-core on the page as it is now: no serious or critical violation in what the app draws (alt texts, contrast, formulas)."""
    from axe_playwright_python.sync_playwright import Axe

    settled(pg)  # a faded label is low-contrast for a moment, not for the user who reads it once the page has settled
    found = []
    for violation in Axe().run(pg).response["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"]:
            selector = node["target"][-1]
            if violation["id"] in STREAMLIT_KNOWN and pg.locator(selector).first.evaluate("e => !!e.closest('[data-testid=stSidebarNav]')"):
                continue
            found.append(f"{violation['id']} ({violation['impact']}): {node['html'][:120]}")
    assert not found, f"{where}: " + "\n".join(found)


def luminance(rgb: str) -> float:
    """WCAG relative luminance of a CSS ``rgb(r, g, b)`` / ``rgba(...)`` colour."""
    channels = [int(v) / 255 for v in re.findall(r"[\d.]+", rgb)[:3]]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def caption_contrast(pg) -> float:
    """WCAG contrast of the first caption against the page: its colour blended by its opacity over the app's background."""
    colour, opacity, background = pg.get_by_test_id("stCaptionContainer").first.evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e).opacity, getComputedStyle(document.querySelector('.stApp')).backgroundColor]")
    text, back, alpha = [int(v) for v in re.findall(r"\d+", colour)[:3]], [int(v) for v in re.findall(r"\d+", background)[:3]], float(opacity)
    blended = "rgb({}, {}, {})".format(*(round(alpha * t + (1 - alpha) * b) for t, b in zip(text, back)))
    lighter, darker = sorted([luminance(blended), luminance(background)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def steps_shown(pg) -> int:
    text = pg.get_by_text(re.compile(r"Text summary: \d+ steps so far")).first.inner_text()
    return int(re.search(r"(\d+) steps so far", text).group(1))


def set_budget(pg, *keys: str, expected: str) -> None:
    """Move the sidebar's training-budget slider with ``keys`` and wait until it reads ``expected`` seconds."""
    from playwright.sync_api import expect

    slider = pg.get_by_test_id("stSlider").filter(has_text="Training budget").get_by_role("slider")
    deadline = time.time() + HANG_MS / 1000
    while True:  # the keys ("Home", "End") are idempotent: pressing them again after a lost focus is safe
        settled(pg)
        slider.focus()
        for key in keys:
            pg.keyboard.press(key)
        try:  # a rerun that redraws the sidebar between focus() and the key press takes the focus away, and the key with it
            expect(slider).to_have_value(expected, timeout=5000)
            return
        except AssertionError:
            if time.time() > deadline:
                raise


def test_every_page_then_train_and_stop(page, server):
    from playwright.sync_api import expect
    pg = page
    pg.goto(server)
    pg.get_by_role("heading", name=re.compile("self-supervised learning you can watch")).wait_for()
    nav = pg.get_by_test_id("stSidebarNav")
    for title, heading in [("Augmentations", "Augmentations: making the views"), ("Pretext tasks", "Pretext tasks: learn by solving a made-up problem"), ("Contrastive learning", "Contrastive learning: SimCLR, MoCo, BYOL, SimSiam"),
                           ("Collapse and how to prevent it", "Collapse and how to prevent it"),
                           ("Masked autoencoders", "Masked autoencoders (MAE)"), ("Deep clustering", "Deep clustering (DeepCluster)"),
                           ("Downstream evaluation", "Downstream evaluation: what did pre-training buy?"), ("Home", "sslviz")]:
        nav.get_by_role("link", name=title).click()
        pg.get_by_role("heading", name=re.compile(re.escape(heading))).first.wait_for()
        pg.wait_for_timeout(500)
        no_errors(pg)
        if title == "Masked autoencoders":  # the patch grid, the mask and the visible tokens are drawn before any training
            pg.get_by_text(re.compile(r"49 patches|64 patches")).first.wait_for()
            # the images arrive in their own deltas, possibly after the caption: wait for the third, do not count at once
            expect(pg.get_by_test_id("stImage").nth(2)).to_be_visible()
        accessible(pg, f"{title}, before a run")

    nav.get_by_role("link", name="Contrastive learning").click()
    pg.get_by_role("heading", name=re.compile("SimCLR, MoCo, BYOL, SimSiam")).wait_for()
    # sidebar: digits
    pg.get_by_test_id("stSelectbox").filter(has_text="Dataset").click()
    pg.get_by_role("option", name="digits").click()
    # the longest budget for the run that is stopped, so Stop always comes while it trains (with 10 s a slow
    # machine could finish the run between two chart updates and the click, and there is then nothing to stop)
    set_budget(pg, "End", expected=str(BUDGET_RANGE[1]))

    pg.get_by_role("button", name="Train live").click()
    pg.get_by_text(re.compile(r"Text summary: \d+ steps so far")).first.wait_for()
    first = steps_shown(pg)
    expect(pg.get_by_test_id("stPlotlyChart").nth(1)).to_be_visible()
    deadline = time.time() + HANG_MS / 1000
    while steps_shown(pg) <= first and time.time() < deadline:
        pg.wait_for_timeout(300)
    assert steps_shown(pg) > first, "the loss chart did not update while training"
    no_errors(pg)

    pg.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop training").click()
    pg.get_by_text(re.compile("Stopped by the user after")).first.wait_for()
    pg.get_by_text(re.compile("Linear probe: SimCLR")).first.wait_for()
    no_errors(pg)
    expect(pg.get_by_role("button", name="Stop training")).to_have_count(0)  # waits: the last rerun may still be arriving
    set_budget(pg, "Home", expected="5")  # the runs below are short: each only has to reach its result

    # the rest of the family: switch method; its break-it buttons are there (one is run end to end, with its collapse
    # banner, by tests/test_pages.py::test_break_it_collapse_is_flagged_on_the_page; here the Collapse page's pair below)
    pg.get_by_test_id("stSelectbox").filter(has_text="Method").click()
    pg.get_by_role("option", name=re.compile("^BYOL")).click()
    pg.get_by_text("How BYOL works").wait_for()
    pg.get_by_role("button", name="SimSiam without stop-gradient", exact=True).wait_for()
    no_errors(pg)
    accessible(pg, "Contrastive learning, after a run")

    # the Collapse page: one mechanism's normal and broken runs, each with the detector's verdict
    nav.get_by_role("link", name="Collapse and how to prevent it").click()
    pg.get_by_role("heading", name="Collapse and how to prevent it").first.wait_for()
    pg.get_by_role("tab", name="equipartition").click()
    pg.get_by_role("button", name=re.compile("^Train 2 runs: SwAV, SwAV without equal partition")).click()
    pg.get_by_text(re.compile("In these runs —")).first.wait_for()
    pg.get_by_text(re.compile("healthy|total collapse|dimensional collapse")).first.wait_for()
    no_errors(pg)
    accessible(pg, "Collapse, after a run")

    # a pretext task trains live too (digits and the 5-s budget are still set in the sidebar)
    nav.get_by_role("link", name="Pretext tasks").click()
    pg.get_by_role("heading", name=re.compile("Pretext tasks")).first.wait_for()
    pg.get_by_role("tab", name="Rotation").click()
    pg.get_by_test_id("stTabs").get_by_role("button", name="Train live").locator("visible=true").first.click()
    pg.get_by_text(re.compile(r"Text summary: \d+ steps; loss")).first.wait_for()
    pg.get_by_text("Where are the good features").first.wait_for()
    no_errors(pg)
    accessible(pg, "Pretext tasks, after a run")

    # multi-modal: every tab renders; CLIP trains live; typed prompts classify and unknown words are named
    nav.get_by_role("link", name="Multi-modal SSL").click()
    pg.get_by_role("heading", name="Multi-modal SSL").first.wait_for()
    for tab in ["Image + text: VirTex", "Image + video", "Image + depth", "Image + audio", "Image + text: CLIP"]:
        pg.get_by_role("tab", name=tab).click()
        pg.wait_for_timeout(300)
        no_errors(pg)
    pg.get_by_test_id("stTabs").get_by_role("button", name="Train live").locator("visible=true").first.click()
    pg.get_by_text(re.compile("Zero-shot accuracy on held-out test images")).first.wait_for()
    settled(pg)  # typed into a text area that a rerun then redraws, the prompts would be lost
    prompts = pg.get_by_role("textbox", name="Prompts (one per line)")
    prompts.fill("a red\nsomething blue\na dog")
    prompts.press("Control+Enter")
    pg.get_by_text(re.compile("lacks 'dog'")).first.wait_for()
    pg.get_by_text(re.compile(r"#\d+: (a red|something blue) \(\d+%\)")).first.wait_for()
    no_errors(pg)
    accessible(pg, "Multi-modal SSL, after a run")

    # the downstream preset: one click sets the sidebar and starts; Stop ends it cleanly
    nav.get_by_role("link", name="Downstream evaluation").click()
    pg.get_by_role("button", name="Run the preset").click()
    pg.get_by_text(re.compile("Pre-training SimCLR without labels")).first.wait_for()
    pg.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop training").click()
    pg.get_by_text(re.compile("Stopped by the user during pre-training")).first.wait_for()
    pg.get_by_text(re.compile(r"Dataset digits, seed \d+, pre-training budget 60 s")).first.wait_for()  # the preset set the sidebar
    no_errors(pg)
    accessible(pg, "Downstream evaluation, after a run")


def test_upload_fuzz_through_the_browser(page, server):
    """The fuzz files of tests/test_images.py, uploaded at once through the real uploader widget."""
    from PIL import Image
    from test_images import BAD, GOOD, encode

    pg = page
    pg.goto(server)
    pg.get_by_test_id("stSidebarNav").get_by_role("link", name="Augmentations").click()
    pg.get_by_role("heading", name=re.compile("Augmentations: making the views")).wait_for()
    pg.get_by_text("Upload your own").click()
    files = [{"name": f"{name.replace(' ', '_')}.png", "mimeType": "image/png", "buffer": make()} for name, make in GOOD.items()]
    files += [{"name": f"{name.replace(' ', '_')}.png", "mimeType": "image/png", "buffer": make()} for name, (make, _) in BAD.items()]
    files.append({"name": "photo_4000x3000.jpg", "mimeType": "image/jpeg", "buffer": encode(Image.new("RGB", (4000, 3000), (10, 200, 30)), "JPEG")})
    pg.get_by_test_id("stMainBlockContainer").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(files)
    pg.get_by_text(re.compile(r"\d+ of \d+ files could not be used")).first.wait_for()
    no_errors(pg)
    alerts = "\n".join(pg.get_by_test_id("stAlertContentError").all_inner_texts())
    for name, (_, match) in BAD.items():
        file = f"{name.replace(' ', '_')}.png"
        line = next((line for line in alerts.splitlines() if line.startswith(f"{file}:")), "")
        assert re.search(match, line), f"{file}: {line!r} in {alerts!r}"
    assert sum(f"{f['name']}:" in alerts for f in files) == len(BAD)  # no good file is reported
    pg.get_by_text(f"{len(BAD)} of {len(files)} files could not be used").first.wait_for()
    pg.get_by_test_id("stImage").first.wait_for()  # the views of a good file are drawn (later than the alerts on a busy machine)
    assert "Traceback" not in pg.get_by_test_id("stMainBlockContainer").inner_text()


def photos_zip(per_class: int = 30) -> bytes:
    """A zip of one folder with three class folders of JPEG photos (shapes rendered large, as a phone would save them)."""
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    from sslviz import data

    ds = data.load("shapes", "train", 0)
    out, counts = io.BytesIO(), {}
    with zipfile.ZipFile(out, "w") as z:
        for image, label in zip(ds.images, ds.labels):
            name = ds.class_names[label]
            if name == "cross" or counts.get(name, 0) >= per_class:
                continue
            counts[name] = counts.get(name, 0) + 1
            photo = Image.fromarray((image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).resize((160, 120))
            buffer = io.BytesIO()
            photo.save(buffer, "JPEG", quality=90)
            z.writestr(f"my photos/{name}/IMG_{counts[name]:04d}.jpg", buffer.getvalue())
        z.writestr("my photos/notes.txt", "not a photo")
    return out.getvalue()


def test_a_zip_of_photos_trains_simclr_against_both_baselines_with_the_neighbour_gallery(page, server):
    """Issue 19: a hostile zip gets its message while other sessions keep working; a zip of three class folders of
    photos becomes the dataset, SimCLR trains on it from the Contrastive page, and the results compare it with both
    baselines and show each test photo's nearest neighbours."""
    import io
    import zipfile

    pg = page
    pg.goto(server)
    pg.get_by_test_id("stSidebarNav").get_by_role("link", name="Contrastive learning").click()
    pg.get_by_role("heading", name=re.compile("SimCLR, MoCo, BYOL, SimSiam")).wait_for()
    sidebar = pg.get_by_test_id("stSidebar")
    sidebar.get_by_text("Your images").first.click()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("photos/huge.png", b"\0" * 20_000_000)
    sidebar.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([{"name": "bomb.zip", "mimeType": "application/zip", "buffer": bomb.getvalue()}])
    sidebar.get_by_text(re.compile("like a zip bomb")).first.wait_for()
    other = pg.context.browser.new_page()  # another visitor meanwhile: the server still serves
    other.goto(server)
    other.get_by_role("heading", name=re.compile("self-supervised learning you can watch")).wait_for()
    other.close()

    sidebar.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([{"name": "my photos.zip", "mimeType": "application/zip", "buffer": photos_zip()}])
    pg.get_by_test_id("stMainBlockContainer").get_by_text(re.compile(r"Dataset Your images: my photos \(90, 3 classes\), seed")).first.wait_for()
    sidebar.get_by_text(re.compile("notes.txt: not an image by its name")).first.wait_for()
    set_budget(pg, "Home", expected="5")
    pg.get_by_role("button", name="Train live").click()
    pg.get_by_text(re.compile("Linear probe: SimCLR .* raw pixels")).first.wait_for()
    main = pg.get_by_test_id("stMainBlockContainer")
    main.get_by_text(re.compile("Linear probe: SimCLR .* a random-init CNN")).first.wait_for()
    main.get_by_text(re.compile(r"Held-out test accuracy on Your images: my photos")).first.wait_for()
    main.get_by_role("heading", name=re.compile("Nearest neighbours")).wait_for()
    for space in ("SimCLR", "raw pixels", "random-init CNN"):
        main.get_by_text(re.compile(rf"^{space}: \d of 8 share the query's class")).first.wait_for()
    no_errors(pg)
    # the embedding: hovering a point shows its photo; clicking it makes it the neighbour explorer's query
    points = main.get_by_test_id("stVegaLiteChart").locator("g.mark-symbol path")
    points.first.wait_for()
    point = points.nth(points.count() // 2)
    point.hover()
    tooltip = pg.locator("#vg-tooltip-element")
    tooltip.locator("img").wait_for()
    assert tooltip.locator("img").get_attribute("src").startswith("data:image/png;base64,")
    index = int(re.search(r"test image\s*(\d+)", tooltip.inner_text()).group(1))
    assert index > 0
    point.click()
    from playwright.sync_api import expect

    expect(main.get_by_role("spinbutton", name=re.compile("Test image"))).to_have_value(str(index), timeout=HANG_MS)
    no_errors(pg)


PAGES = ["", "augmentations", "pretext", "contrastive", "collapse", "mae", "clustering", "multimodal", "downstream"]


def test_presenter_mode_on_every_page_and_a_class_link_in_a_fresh_browser(browser, server):
    # Presenter mode: every page, 1920×1080, sidebar folded, large type, no error.
    for path in PAGES:
        pg = fresh_page(browser, 1920, 1080)
        pg.goto(f"{server}/{path}?present=1")
        pg.get_by_role("heading", level=1).first.wait_for()
        # the style element is drawn by st.html, whose code loads on its own: wait for it (the hang guard is the page's timeout)
        pg.wait_for_function("getComputedStyle(document.documentElement).fontSize === '22px'")
        no_errors(pg)
        assert pg.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "true", path
        caption = pg.get_by_test_id("stCaptionContainer").first
        if caption.count():  # captions in the text's colour at 85% (Streamlit's own are 60%-opaque grey, about 3.9:1)
            assert caption_contrast(pg) > 7, path
        screenshot(pg, f"present-{path or 'home'}")
        pg.context.close()

    # The lecturer builds a link with the sidebar's panel: Seed and Temperature left out, the rest locked.
    pg = fresh_page(browser)
    pg.goto(f"{server}/contrastive?dataset=digits&seconds=5")
    pg.get_by_role("heading", name=re.compile("SimCLR, MoCo, BYOL, SimSiam")).wait_for()
    pg.get_by_text("Make a link for your class").click()
    chosen = pg.get_by_test_id("stMultiSelect").filter(has_text="Controls students see")
    for label in ["Seed", "Temperature τ"]:
        chosen.get_by_role("button", name=f"Remove {label}").click()
        chosen.get_by_role("button", name=f"Remove {label}").wait_for(state="detached")
    pg.get_by_test_id("stSidebar").get_by_text("Students cannot change the rest").click()
    code = pg.get_by_test_id("stSidebar").get_by_test_id("stCode")
    code.filter(has_text="lock=1").wait_for()
    link = code.inner_text().strip()
    assert "seed_hide=true" in link and "temperature_hide=true" in link and "temperature=0.2" in link, link  # digits' τ travels, hidden
    pg.context.close()

    # A student opens it in a fresh browser: those two controls are absent, the others are disabled, and the run trains.
    st_page = fresh_page(browser)
    st_page.goto(link)
    st_page.get_by_role("heading", name=re.compile("SimCLR, MoCo, BYOL, SimSiam")).wait_for()
    st_page.get_by_text("Opened from your lecturer's link").wait_for()
    main = st_page.get_by_test_id("stMainBlockContainer")
    main.get_by_text("Settings", exact=True).click()
    box = main.get_by_test_id("stExpanderDetails").filter(has_text="Batch size")  # the method's settings (the InfoNCE explorer has its own τ)
    box.get_by_test_id("stSlider").filter(has_text="Batch size").wait_for()
    assert st_page.get_by_test_id("stNumberInput").filter(has_text="Seed").count() == 0
    assert box.get_by_test_id("stSlider").filter(has_text="Temperature").count() == 0
    assert box.get_by_test_id("stSlider").filter(has_text="Batch size").get_by_role("slider").is_disabled()
    assert st_page.get_by_test_id("stSidebar").get_by_role("slider").is_disabled()  # the budget
    main.get_by_role("button", name="Train live").click()
    st_page.get_by_text(re.compile("Linear probe: SimCLR")).first.wait_for()
    no_errors(st_page)
    screenshot(st_page, "class-link")
    st_page.context.close()


def test_keyboard_only_training_and_accessibility_after_runs(browser, server):
    """Tab reaches Train live and Enter starts it (no mouse); axe finds nothing serious after MAE's and Deep clustering's runs."""
    pg = fresh_page(browser)
    pg.goto(f"{server}/contrastive?dataset=digits&seconds=5")
    pg.get_by_role("heading", name=re.compile("SimCLR, MoCo, BYOL, SimSiam")).wait_for()
    pg.wait_for_timeout(500)
    for presses in range(1, 201):  # from the top of the page, one control at a time, as a keyboard user moves
        pg.keyboard.press("Tab")
        if pg.evaluate("document.activeElement.innerText.trim()") == "Train live":
            break
    else:
        pytest.fail("200 presses of Tab never reached Train live")
    pg.keyboard.press("Enter")
    pg.get_by_text(re.compile("Linear probe: SimCLR")).first.wait_for()
    no_errors(pg)
    accessible(pg, f"Contrastive learning, after a run started by keyboard ({presses} Tabs)")

    # DeepCluster with 10 steps per round: its runs last at least three clusterings (201 steps at its default 100 per round)
    for query, heading in [("mae?dataset=digits&seconds=5", "Masked autoencoders (MAE)"),
                           ("clustering?dataset=digits&seconds=5&steps_per_round=10", "Deep clustering (DeepCluster)")]:
        pg.goto(f"{server}/{query}")
        pg.get_by_role("heading", name=re.compile(re.escape(heading))).first.wait_for()
        pg.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Train live").first.click()
        pg.get_by_text(re.compile(r"Finished: \d+ steps")).first.wait_for()
        no_errors(pg)
        accessible(pg, f"{heading}, after a run")
    pg.context.close()


def test_the_dark_theme_keeps_text_captions_and_charts_legible(browser, server):
    """A viewer whose system is dark gets the dark theme; captions keep their contrast and charts draw light text on it."""
    pg = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="dark").new_page()
    pg.set_default_timeout(HANG_MS)
    pg.goto(f"{server}/contrastive")
    pg.get_by_role("heading", name=re.compile("SimCLR, MoCo, BYOL, SimSiam")).wait_for()
    pg.get_by_role("button", name="Use pretrained").first.click()
    pg.get_by_text(re.compile("Linear probe: SimCLR")).first.wait_for()
    pg.locator(".js-plotly-plot .gtitle").first.wait_for()
    background = pg.evaluate("getComputedStyle(document.querySelector('.stApp')).backgroundColor")
    assert luminance(background) < 0.05, background  # the dark theme is on
    assert caption_contrast(pg) > 7
    title = pg.locator(".js-plotly-plot .gtitle").first.evaluate("e => getComputedStyle(e).fill")
    assert luminance(title) > 0.5, title  # chart titles are light on the dark page, not plotly_white's dark grey
    no_errors(pg)
    accessible(pg, "Contrastive learning, dark theme, after loading the shipped model")
    screenshot(pg, "dark")
    pg.context.close()
