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

from app import cache, catalog, datasets, i18n
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
from app.i18n import N_, _

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
        st.session_state[_UPLOAD_MSG_KEY] = ("error", error_message(e), None)
        return
    if not info.is_image:
        st.session_state[_UPLOAD_MSG_KEY] = (
            "info", N_("{name}: a 2-D toy model ({dataset}); it appears on the toy pages only"),
            {"name": f.name, "dataset": info.dataset})
        return
    ds = current_dataset()
    if not catalog.fits(info, ds.name):
        st.session_state[_UPLOAD_MSG_KEY] = (
            "info", N_("{name}: a model of {dataset} ({channels}-channel images), not of {label}: "
                       "choose its data set in **Data set** to compare it"),
            {"name": f.name, "dataset": info.dataset, "channels": info.img_channels, "label": ds.label})
        return
    sel = list(st.session_state.get(MODELS_KEY) or [])
    if info.key not in sel:
        st.session_state[MODELS_KEY] = [*sel, info.key]
    st.session_state[_UPLOAD_MSG_KEY] = (
        "success", N_("Loaded {name}: {kind}, z_dim {z_dim}; added to the comparison"),
        {"name": f.name, "kind": info.kind_label, "z_dim": info.z_dim})


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
    want = {"data": current_dataset().name, "models": ",".join(ids), "seed": str(current_seed()),
            i18n.QUERY_KEY: i18n.language()}
    if page_id:
        want["page"] = page_id
    for k, v in want.items():
        if st.query_params.get(k) != v:
            st.query_params[k] = v


def render_sidebar() -> None:
    """The shared sidebar: the language switch (:func:`app.i18n.language_switch`), **Data set**
    (select, key ``sidebar_data``), **Models to compare**
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
        i18n.language_switch()
        st.selectbox(_("Data set"), list(datasets.DATASETS), key=DATA_KEY, on_change=_on_data_change,
                     format_func=lambda n: datasets.DATASETS[n].label,
                     help=_("Every page follows it: the test images, their labels, the classifier "
                            "and the models listed below."))
        st.multiselect(_("Models to compare"), options, key=MODELS_KEY,
                       format_func=lambda k: labels.get(k, k),
                       placeholder=_("Choose image models"),
                       help=_("{label} image checkpoints ({channels}-channel) found in {dirs}, plus "
                              "checkpoints uploaded below.").format(
                           label=ds.label, channels=ds.channels,
                           dirs=", ".join(f"`{d}`" for d in catalog.checkpoint_dirs())))
        st.number_input(_("Seed"), min_value=0, max_value=MAX_SEED, step=1, key=SEED_KEY,
                        help=_("Same seed, same z: every model with the same z_dim decodes the same "
                               "prior draws."))
        st.file_uploader(_("Upload a checkpoint (.safetensors)"), type=["safetensors"], key=UPLOAD_KEY,
                         on_change=_on_checkpoint_upload, max_upload_size=CHECKPOINT_UPLOAD_MB,
                         help=_("A WAE Lab checkpoint written by `python -m wae_core.train` or the "
                                "Train your own page. Only safetensors files are accepted "
                                "(pickle files can run code)."))
        msg = st.session_state.get(_UPLOAD_MSG_KEY)
        if msg:  # (level, text, None) or (level, message id, its fields): shown in today's language
            level, text, fields = msg
            text = text if fields is None else _(text).format(**fields)
            {"error": st.error, "success": st.success}.get(level, st.info)(text)
