"""Your own images in the sidebar: upload a zip (checked like every upload, decoded with a progress bar) or
pick a folder the server's data directory shares; the pages then train on it like any dataset."""

from __future__ import annotations

import streamlit as st

from sslviz.data import own

UPLOADED = "own.uploaded"  # session state: the own- datasets this session uploaded, in order
PROBLEMS = "own.problems"  # session state: what the last upload left out (name: reason)
LABEL_FREE_PAGES = ("augmentations",)  # url paths of the pages that need no classes


def options(current: str | None) -> list[str]:
    """This session's uploads and the server's shared folders (plus ``current`` when a link named an own dataset)."""
    found = own.names_of(st.session_state.get(UPLOADED, []))
    extra = [current] if current and current.startswith(own.PREFIX) and current not in found and own.names_of([current]) else []
    return found + extra + list(own.shared_folders())


def upload_panel(state_key: str) -> None:
    """The "Your images" expander: a zip becomes a dataset and the sidebar's choice (``state_key``); problems are listed."""
    with st.expander("Your images", icon=":material/photo_library:", expanded=bool(st.session_state.get(PROBLEMS))):
        st.caption(f"A zip of photos, up to {own.MAX_ZIP_BYTES // 2**20} MB and {own.MAX_MEMBERS:,} files. Class subfolders "
                   "(cats/, dogs/…) become labels for the accuracy figures; train/ and test/ folders keep your split; a flat "
                   f"zip is unlabelled (it trains, but nothing reports accuracy). Images are shrunk to {own.OWN_SIZE} px.")
        upload = st.file_uploader("Zip of images", type=["zip"], key="own.zip", label_visibility="collapsed")
        if upload is not None and st.session_state.get("own.done") != upload.file_id:
            st.session_state["own.done"] = upload.file_id
            _decode(upload, state_key)
        for problem in st.session_state.get(PROBLEMS, [])[:20]:
            st.caption(f":material/block: {problem}")
        left = len(st.session_state.get(PROBLEMS, [])) - 20
        if left > 0:
            st.caption(f"…and {left:,} more files not used.")


def _decode(upload, state_key: str) -> None:
    st.session_state[PROBLEMS] = []
    if upload.size > own.MAX_ZIP_BYTES:  # refused before its bytes are read
        st.error(f"{upload.name} is {upload.size / 2**20:,.0f} MB; a zip of images is at most {own.MAX_ZIP_BYTES // 2**20} MB.", icon=":material/error:")
        return
    bar = st.progress(0.0, text=f"Checking {upload.name}…")

    def shown(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Decoding {upload.name}: {done:,} of {total:,} files")

    try:
        collection = own.from_zip(upload.getvalue(), upload.name, progress=shown)
        name = own.store(collection)
    except own.OwnImagesError as err:
        bar.empty()
        st.error(str(err), icon=":material/error:")
        return
    bar.empty()
    st.session_state[PROBLEMS] = collection.problems
    uploaded = st.session_state.setdefault(UPLOADED, [])
    if name not in uploaded:
        uploaded.append(name)
    st.session_state[state_key] = name
    st.toast(f"{own.title(name)} is ready: the pages now train on it.", icon=":material/check_circle:")


def prepare_shared(name: str) -> bool:
    """For a shared folder not decoded yet: decode it once with a progress bar (every session then reuses it). False on failure."""
    if not name.startswith(own.FOLDER_PREFIX) or own.prepared(name) is not None:
        return True
    path = own.shared_folders().get(name)
    if path is None:
        st.error(f"The folder for {name} is no longer in the data directory.", icon=":material/error:")
        return False
    st.title(f"Preparing your images: {path.name}")
    bar = st.progress(0.0, text="Listing the files…")
    try:
        own.prepare_folder(path, progress=lambda done, total: bar.progress(done / total, text=f"Decoding {done:,} of {total:,} files"))
    except own.OwnImagesError as err:
        st.error(str(err), icon=":material/error:")
        return False
    st.rerun()
    return True  # pragma: no cover — st.rerun does not return


def needs_labels(dataset: str) -> None:
    """A page that reports accuracy, on images without classes: say so, and how to add them."""
    st.title("These images have no classes")
    st.info(f"{own.title(dataset)} is a flat folder, so there is nothing to measure accuracy against, and this page's results are "
            "accuracies. Put the photos in one subfolder per class (cats/, dogs/, …) and upload the zip again — or try them on "
            "the Augmentations page, which needs no classes.", icon=":material/label_off:")
