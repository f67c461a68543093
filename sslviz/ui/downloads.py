"""The sidebar's Download button for a standard dataset that is not on this server yet: size first, progress, Cancel."""

from __future__ import annotations

import streamlit as st

from sslviz import data, downloads

POLL_SECONDS = 1.0


def download_panel(dataset: str) -> None:
    """In the sidebar: the download of ``dataset`` (a button showing its size, then a progress bar and Cancel)."""
    with st.sidebar:
        _panel(dataset)


@st.fragment(run_every=POLL_SECONDS)
def _panel(dataset: str) -> None:
    entry = data.info(dataset).files
    now = downloads.progress(dataset)
    if now.state == "running":
        st.progress(now.fraction, text=f"Downloading {entry.title}: {now.mb:,.0f} of {now.total_mb:,.0f} MB")
        if st.button("Cancel download", key=f"download.{dataset}.cancel", icon=":material/cancel:"):
            downloads.cancel(dataset)
            st.rerun(scope="fragment")
        return
    if now.state == "done":
        st.success(f"{entry.title} is downloaded.", icon=":material/check_circle:")
        st.rerun()  # the whole page: the dataset can load now
    if now.state in ("failed", "cancelled"):
        st.warning(now.message, icon=":material/warning:")
    if st.button(f"Download {entry.title} ({entry.download_mb:,.0f} MB)", key=f"download.{dataset}.start", icon=":material/download:",
                 help=f"Fetches the official files with torchvision into {entry.path().parent}; every session of this server can then use them."):
        downloads.start(dataset)
        st.rerun(scope="fragment")


def missing_dataset(dataset: str) -> None:
    """The page's place when its dataset is not downloaded: what is missing and how to get it (never downloads by itself)."""
    st.title(f"{data.info(dataset).files.title} is not on this server yet")
    st.warning(data.missing(dataset), icon=":material/cloud_download:")
    st.caption("Nothing downloads without a click. Meanwhile, the other datasets in the sidebar work offline.")
    download_panel(dataset)
