"""sslviz: self-supervised learning you can watch. Run with ``streamlit run app.py``."""

import streamlit as st

from sslviz.ui.settings import sidebar

st.set_page_config(page_title="sslviz — self-supervised learning", page_icon="🧩", layout="wide")

PAGES = {
    "Start": [st.Page("pages/home.py", title="Home", icon="🏠", default=True)],
    "Lecture topics": [
        st.Page("pages/augmentations.py", title="Augmentations", icon="🔀", url_path="augmentations"),
        st.Page("pages/contrastive.py", title="Contrastive learning", icon="🧲", url_path="contrastive"),
    ],
}

page = st.navigation(PAGES)
sidebar()
page.run()
