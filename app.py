"""sslviz: self-supervised learning you can watch. Run with ``streamlit run app.py``."""

import streamlit as st

from sslviz import memory
from sslviz.ui import classroom  # streamlit only: Home still needs no torch

# Presenter mode (a link with present=1) opens with the sidebar folded away.
st.set_page_config(page_title="sslviz — self-supervised learning", page_icon=":material/extension:", layout="wide",
                   initial_sidebar_state="collapsed" if classroom.presenting() else "auto")
classroom.style()

PAGES = {
    "Start": [st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Lecture topics": [
        st.Page("app_pages/augmentations.py", title="Augmentations", icon=":material/shuffle:", url_path="augmentations"),
        st.Page("app_pages/pretext.py", title="Pretext tasks", icon=":material/extension:", url_path="pretext"),
        st.Page("app_pages/contrastive.py", title="Contrastive learning", icon=":material/join_inner:", url_path="contrastive"),
        st.Page("app_pages/collapse.py", title="Collapse and how to prevent it", icon=":material/compress:", url_path="collapse"),
        st.Page("app_pages/mae.py", title="Masked autoencoders", icon=":material/grid_view:", url_path="mae"),
        st.Page("app_pages/clustering.py", title="Deep clustering", icon=":material/bubble_chart:", url_path="clustering"),
        st.Page("app_pages/multimodal.py", title="Multi-modal SSL", icon=":material/interests:", url_path="multimodal"),
        st.Page("app_pages/downstream.py", title="Downstream evaluation", icon=":material/leaderboard:", url_path="downstream"),
    ],
}

memory.limit_malloc_arenas()  # early, before most session threads exist: each would keep a heap arena of freed memory
memory.reuse_freed_memory()  # training steps reuse freed memory instead of faulting it in again (sslviz/memory.py)
page = st.navigation(PAGES)
home = page.url_path == ""  # Home needs no torch: it is on screen before the sidebar's imports (torch, the datasets) have run
if home:
    page.run()
from sslviz import data  # noqa: E402
from sslviz.ui.downloads import missing_dataset  # noqa: E402
from sslviz.ui.live import warm_up  # noqa: E402
from sslviz.ui.own_images import LABEL_FREE_PAGES, needs_labels, prepare_shared  # noqa: E402
from sslviz.ui.settings import sidebar  # noqa: E402  (imported here, after Home, on purpose)

settings = sidebar()
if not home and prepare_shared(settings.dataset):  # a lecture page reads the sidebar's settings (and a link's), so the sidebar comes first
    if data.missing(settings.dataset):  # a standard dataset that is not downloaded: say how to get it instead of failing
        missing_dataset(settings.dataset)
    elif not data.info(settings.dataset).labelled and page.url_path not in LABEL_FREE_PAGES:
        needs_labels(settings.dataset)
    else:
        page.run()
classroom.teacher_panel()  # after the page: it lists the controls the page drew
warm_up(settings.dataset, settings.seed)  # once per server: the first Train press then skips imports and baselines
