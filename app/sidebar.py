"""The shared sidebar (set up by the entry script): **Data set**, **Models to compare**, **Seed** and
**Upload a checkpoint**, kept in the URL (``?data=…&models=…&seed=…``) so a view can be bookmarked.

Shared state, read by every page through :func:`app.components.current_dataset`,
:func:`app.components.selected_models` and :func:`app.components.current_seed`:

* ``st.session_state["sidebar_data"]``: the data set's name (see :mod:`app.datasets`); the picker
  lists only the models that fit it, and switching it selects its shipped models;
* ``st.session_state["sidebar_models"]``: the selected model keys (see :mod:`app.catalog`);
* ``st.session_state["sidebar_seed"]``: the seed.
"""

from __future__ import annotations

import streamlit as st

from app import cache, catalog, datasets
from app.catalog import list_checkpoints
from app.components import (
    DATA_KEY,
    DEFAULT_SEED,
    MAX_SEED,
    MODELS_KEY,
    SEED_KEY,
    current_dataset,
    current_seed,
    error_message,
)

UPLOAD_KEY = "sidebar_upload"
_UPLOAD_MSG_KEY = "wae_upload_message"
_QP_READ_KEY = "wae_query_params_read"
CHECKPOINT_UPLOAD_MB = 64  # must not exceed server.maxUploadSize (.streamlit/config.toml)


def _on_checkpoint_upload() -> None:
    f = st.session_state.get(UPLOAD_KEY)
    if f is None:
        return
    try:
        info = cache.add_upload(f.name, f.getvalue())
    except Exception as e:  # noqa: BLE001
        st.session_state[_UPLOAD_MSG_KEY] = ("error", error_message(e))
        return
    if not info.is_image:
        st.session_state[_UPLOAD_MSG_KEY] = (
            "info", f"{f.name}: a 2-D toy model ({info.dataset}); it appears on the toy pages only")
        return
    ds = current_dataset()
    if not catalog.fits(info, ds.name):
        st.session_state[_UPLOAD_MSG_KEY] = (
            "info", f"{f.name}: a model of {info.dataset} ({info.img_channels}-channel images), not of "
                    f"{ds.label}: choose its data set in **Data set** to compare it")
        return
    sel = list(st.session_state.get(MODELS_KEY) or [])
    if info.key not in sel:
        st.session_state[MODELS_KEY] = [*sel, info.key]
    st.session_state[_UPLOAD_MSG_KEY] = ("success", f"Loaded {f.name}: {info.kind_label}, "
                                                    f"z_dim {info.z_dim}; added to the comparison")


def _on_data_change() -> None:
    """A new data set: select its shipped models (the old selection does not fit it)."""
    data = current_dataset().name
    st.session_state[MODELS_KEY] = catalog.default_model_keys(list_checkpoints(for_data=data), data)


def _init_from_query_params() -> None:
    """On a session's first run, take ``?data=name&models=id,id&seed=N`` from the URL."""
    if st.session_state.get(_QP_READ_KEY):
        return
    st.session_state[_QP_READ_KEY] = True
    qp = st.query_params
    if DATA_KEY not in st.session_state:
        st.session_state[DATA_KEY] = datasets.get(qp.get("data")).name
    data = current_dataset().name
    infos = list_checkpoints(for_data=data)
    by_id = {i.id: i.key for i in infos}
    if MODELS_KEY not in st.session_state:
        ids = [s for s in qp.get("models", "").split(",") if s]
        keys = [by_id[s] for s in ids if s in by_id]
        st.session_state[MODELS_KEY] = keys if ids and keys else catalog.default_model_keys(infos, data)
    if SEED_KEY not in st.session_state:
        try:
            st.session_state[SEED_KEY] = min(max(int(qp.get("seed", DEFAULT_SEED)), 0), MAX_SEED)
        except ValueError:
            st.session_state[SEED_KEY] = DEFAULT_SEED


def sync_query_params(page_id: str | None = None) -> None:
    """Write the page, the data set, the selected models (ids) and the seed into the URL
    (bookmarkable)."""
    infos = {i.key: i for i in list_checkpoints(image=True)}
    ids = [infos[k].id for k in st.session_state.get(MODELS_KEY) or []
           if k in infos and infos[k].source != "upload"]
    want = {"data": current_dataset().name, "models": ",".join(ids), "seed": str(current_seed())}
    if page_id:
        want["page"] = page_id
    for k, v in want.items():
        if st.query_params.get(k) != v:
            st.query_params[k] = v


def render_sidebar() -> None:
    """The shared sidebar: **Data set** (select, key ``sidebar_data``), **Models to compare**
    (multiselect, key ``sidebar_models``: the models that fit the data set), **Seed** (key
    ``sidebar_seed``) and **Upload a checkpoint** (key ``sidebar_upload``)."""
    _init_from_query_params()
    if st.session_state.get(DATA_KEY) not in datasets.DATASETS:
        st.session_state[DATA_KEY] = datasets.DEFAULT
    ds = current_dataset()
    infos = list_checkpoints(for_data=ds.name)
    options = [i.key for i in infos]
    labels = {i.key: i.label for i in infos}
    current = [k for k in st.session_state.get(MODELS_KEY) or [] if k in labels]
    if current != st.session_state.get(MODELS_KEY):
        st.session_state[MODELS_KEY] = current
    with st.sidebar:
        st.selectbox("Data set", list(datasets.DATASETS), key=DATA_KEY, on_change=_on_data_change,
                     format_func=lambda n: datasets.DATASETS[n].label,
                     help="Every page follows it: the test images, their labels, the classifier "
                          "and the models listed below.")
        st.multiselect("Models to compare", options, key=MODELS_KEY,
                       format_func=lambda k: labels.get(k, k),
                       placeholder="Choose image models",
                       help=f"{ds.label} image checkpoints ({ds.channels}-channel) found in "
                            + ", ".join(f"`{d}`" for d in catalog.checkpoint_dirs())
                            + ", plus checkpoints uploaded below.")
        st.number_input("Seed", min_value=0, max_value=MAX_SEED, step=1, key=SEED_KEY,
                        help="Same seed, same z: every model with the same z_dim decodes the same "
                             "prior draws.")
        st.file_uploader("Upload a checkpoint (.safetensors)", type=["safetensors"], key=UPLOAD_KEY,
                         on_change=_on_checkpoint_upload, max_upload_size=CHECKPOINT_UPLOAD_MB,
                         help="A WAE Lab checkpoint written by `python -m wae_core.train` or the "
                              "Train your own page. Only safetensors files are accepted "
                              "(pickle files can run code).")
        msg = st.session_state.get(_UPLOAD_MSG_KEY)
        if msg:
            level, text = msg
            {"error": st.error, "success": st.success}.get(level, st.info)(text)
