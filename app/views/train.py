"""Train your own: a VAE / WAE-MMD / WAE-GAN / GAN on MNIST, Fashion-MNIST, Stacked MNIST or a zip of images,
in a background thread (``wae_core.live.BackgroundTraining`` around ``wae_core.train.Trainer``).
The checkpoint lands in ``runs/`` where every other page lists it.
"""

from __future__ import annotations

import datetime as dt
import inspect
import shutil
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

import streamlit as st

from app import catalog, export, figures, share, train_quality
from app import components as C
from wae_core import live, recipes
from wae_core.config import KERNELS, KIND_LABELS
from wae_core.data import DatasetUnavailableError, TensorData, load_dataset, load_image_folder
from wae_core.train import data_config

JOB_KEY = "train_job"
TICKET_KEY = "train_ticket"  # the job's place in the hub's queue (shared with the live runs)
MSG_KEY = "train_message"
DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST",
            "stacked-mnist": "Stacked MNIST (3 channels, 1,000 modes)", "zip": "Upload a zip of images"}
ZIP_MB = 100
LAMBDAS = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
Z_SIZES = [2, 4, 8, 16, 32]
REFRESH_S = 0.5
# The archive limit is extract_image_zip's default: read it, not a copy of it.
ZIP_MAX_FILES = inspect.signature(live.extract_image_zip).parameters["max_files"].default


@st.cache_resource(show_spinner="Loading the training set…", max_entries=2)
def _train_set(name: str) -> TensorData:
    return load_dataset(name, "train")


def _load_zip(data: bytes) -> TensorData:
    """Unpack safely into a temp folder, load the images MNIST-style, remove the folder."""
    tmp = Path(tempfile.mkdtemp(prefix="wae-lab-zip-"))
    try:
        live.extract_image_zip(data, tmp)
        return load_image_folder(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _job() -> live.BackgroundTraining | None:
    return st.session_state.get(JOB_KEY)


def _cancel() -> None:
    job = _job()
    if job is not None:
        job.cancel()


def _new_run() -> None:
    job = _job()
    if job is not None and not job.progress().done:
        return
    st.session_state.pop(JOB_KEY, None)
    st.session_state[MSG_KEY] = None


def _default_name(kind: str, dataset: str) -> str:
    return f"{kind}-{dataset}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def form() -> None:
    s = st.session_state
    share.keep_in_url("train", {"train_kind": share.choice(KIND_LABELS), "train_data": share.choice(DATASETS),
                                "train_epochs": share.integer(1, 50),
                                "train_subset": share.integer(0, 60_000), "train_z": share.choice(Z_SIZES),
                                "train_lam": share.choice(LAMBDAS), "train_kernel": share.choice(KERNELS)})
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox("Model", list(KIND_LABELS), format_func=KIND_LABELS.get, key="train_kind", index=1)
    r = recipes.get(f"own-{kind}")
    dataset = c2.selectbox("Data", list(DATASETS), format_func=DATASETS.get, key="train_data")
    c3.text_input("Run name", key="train_name", placeholder="(automatic)",
                  help="The checkpoint is saved as runs/<name>.safetensors")
    zip_file = None
    if dataset == "zip":
        zip_file = st.file_uploader("Zip of images (one sub-folder per class, optional)", type=["zip"],
                                    key="train_zip", max_upload_size=ZIP_MB,
                                    help="PNG / JPEG / ... images; each becomes a 28×28 greyscale "
                                         f"MNIST-style image. Up to {ZIP_MAX_FILES:,} images.")
    c1, c2, c3, c4 = st.columns(4)
    c1.number_input("Epochs", 1, 50, r.train.epochs, key="train_epochs")
    c2.number_input("Subset (images, 0 = all)", 0, 60_000, 10_000, step=1000, key="train_subset",
                    help="Train on the first N images only: much faster on a CPU.")
    c3.selectbox("Latent size z", Z_SIZES, index=Z_SIZES.index(r.model.z_dim), key="train_z")
    if kind in ("wae-mmd", "wae-gan"):
        c4.select_slider("λ", LAMBDAS, value=r.model.lam, key="train_lam")
    if kind == "wae-mmd":
        c4.radio("Kernel", KERNELS, index=KERNELS.index(r.model.kernel), horizontal=True,
                 key="train_kernel")
    m, t = r.model, r.train
    st.caption(f"Recipe `{r.name}`: conv widths {'-'.join(map(str, m.channels))} / "
               f"{'-'.join(map(str, m.dec_channels))}, batch {t.batch_size}, Adam (β₁ = {t.beta1:g}), "
               f"lr {t.lr:g}" + (f", adversary {t.lr_adv:g}" if kind in ("wae-gan", "gan") else "")
               + f", {m.disc_depth} × {m.disc_hidden} latent adversary" * (kind == "wae-gan")
               + (", cosine learning rate to 0 at the last epoch" if t.lr_schedule != "step" else "")
               + ". Its speed (images/s) shows while it trains.")
    if st.button("Start training", key="train_start", type="primary", icon=":material/play_arrow:"):
        start(kind, dataset, zip_file, s)
    msg = s.get(MSG_KEY)
    if msg:
        st.error(msg, icon="⚠️")


def start(kind: str, dataset: str, zip_file, s) -> None:  # noqa: ANN001
    s[MSG_KEY] = None
    try:
        if dataset == "zip":
            if zip_file is None:
                s[MSG_KEY] = "Upload a zip of images first."
                return
            data = _load_zip(zip_file.getvalue())
            ds_name = f"folder:{Path(zip_file.name).stem}"
        else:
            data = _train_set(dataset)
            ds_name = dataset
    except (live.BadArchiveError, DatasetUnavailableError) as e:
        s[MSG_KEY] = f"{DATASETS[dataset]}: {e}"
        return
    subset = int(s.get("train_subset", 0))
    if subset:
        data = data.subset(subset)
    r = recipes.get(f"own-{kind}")
    if len(data) < r.train.batch_size:
        s[MSG_KEY] = f"Only {len(data)} images: a training batch needs {r.train.batch_size}."
        return
    name = live.safe_run_name(s.get("train_name") or _default_name(kind, ds_name.split(":")[0]))
    out = catalog.runs_dir() / f"{name}.safetensors"
    if out.exists():
        s[MSG_KEY] = f"{out.name} already exists in {out.parent}: choose another run name."
        return
    mcfg = data_config(replace(r.model, z_dim=int(s.get("train_z", r.model.z_dim)),
                   lam=float(s.get("train_lam", r.model.lam)), kernel=s.get("train_kernel", r.model.kernel)),
                       data)  # the data's image channels (3 for Stacked MNIST)
    tcfg = replace(r.train, epochs=int(s.get("train_epochs", r.train.epochs)), seed=C.current_seed())
    meta = {"dataset": ds_name, "subset": subset, "command": "WAE Lab app: Train your own",
            "run_name": name, "recipe": r.name}
    # A place in the queue the live runs wait in: the job keeps it with heartbeats from its own
    # thread (so a closed tab does not free a core that still trains) and gives it back at its end.
    hub, key = live.get_hub(), uuid.uuid4().hex
    job = live.BackgroundTraining(mcfg, tcfg, data, out, meta,
                                  heartbeat=lambda eta: hub.ticket(key, eta),
                                  on_exit=lambda: hub.release(key))
    s[JOB_KEY], s[TICKET_KEY] = job, key
    if hub.reserve(key).granted:
        _launch(job)
    st.rerun()


def _launch(job: live.BackgroundTraining) -> None:
    try:
        job.start()
    except live.TooManyRunsError as e:  # this process's own guard (the queue comes first)
        st.session_state[MSG_KEY] = f"{e} on this server. Wait for one to finish."
        _leave_queue()


def _leave_queue() -> None:
    s = st.session_state
    key = s.pop(TICKET_KEY, None)
    if key is not None:
        live.get_hub().release(key)
    s.pop(JOB_KEY, None)


def waiting(job: live.BackgroundTraining) -> None:
    """A queued training: its place and estimate, until the hub grants it a core."""
    try:
        ticket = live.get_hub().ticket(st.session_state[TICKET_KEY])
    except live.RoomError as e:
        st.session_state[MSG_KEY] = str(e)
        _leave_queue()
        st.rerun()
    if ticket.granted:
        _launch(job)
        st.rerun()
    when = (f"training starts in about {ticket.eta:.0f} s" if ticket.eta is not None
            else "training starts when the room's live run stops")
    st.caption(describe(job))
    st.info(f"Queued: position {ticket.queue_position} of {ticket.queue_length} · {when}. Every core "
            "is training; yours starts by itself.", icon=":material/hourglass_top:")
    st.button("Leave the queue", key="train_leave", on_click=_leave_queue, icon=":material/close:")


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA …"
    seconds = int(seconds + 0.5)
    return f"ETA {seconds // 60}:{seconds % 60:02d}"


def rate(steps_per_second: float, batch_size: int) -> str:
    """Training images per second at the measured step rate ("… img/s" before the first steps)."""
    return f"{steps_per_second * batch_size:,.0f} img/s" if steps_per_second > 0 else "… img/s"


def describe(job: live.BackgroundTraining) -> str:
    m, t, meta = job.model_cfg, job.train_cfg, job.meta
    n = len(job.data)
    extra = f", λ {m.lam:g}" if m.kind in ("wae-mmd", "wae-gan") else ""
    extra += f", {m.kernel} kernel" if m.kind == "wae-mmd" else ""
    return (f"{KIND_LABELS[m.kind]} (z = {m.z_dim}{extra}) on {meta.get('dataset', '?')}, "
            f"{n:,} images, {t.epochs} epoch(s) → `{job.out}`")


def progress(job: live.BackgroundTraining, was_running: bool) -> None:
    p = job.progress()
    st.caption(describe(job))
    if was_running and p.done:
        st.rerun()  # finished / cancelled / failed: redraw without the timer
    if p.state == "starting":
        st.progress(0.0, text="Starting…")
    else:
        last = ", ".join(f"{k} {v:.4g}" for k, v in p.last_logs.items())
        text = (f"Step {p.step:,} / {p.total_steps:,} · epoch {min(p.epoch + 1, p.epochs)}/{p.epochs}"
                f" · {p.elapsed:.0f} s · {rate(p.steps_per_second, job.train_cfg.batch_size)} · {_eta(p.eta)}"
                + (f" · {last}" if last else ""))
        st.progress(p.fraction, text=text)
    if len(p.history.get("step", [])) > 1:
        st.caption("Training losses (averaged over the logging interval)")
        export.chart(figures.losses_figure(p.history), "train_losses", p.history, name="train-losses")
    if not p.done:
        st.button("Cancel", key="train_cancel", on_click=_cancel, icon=":material/stop:",
                  help="Stop after the current step; a usable checkpoint is saved first.")


def result(job: live.BackgroundTraining) -> None:
    p = job.progress()
    out = Path(p.out)
    if p.state == "failed":
        st.error(f"Training failed: {p.error}", icon="⚠️")
    elif p.state in ("finished", "cancelled"):
        what = "Cancelled" if p.state == "cancelled" else "Finished"
        st.success(f"{what} after {p.step:,} steps ({p.elapsed:.0f} s, "
                   f"{rate(p.steps_per_second, job.train_cfg.batch_size)}): saved **{out.name}** in "
                   f"`{out.parent}`. It is now listed in the sidebar's **Models to compare**.",
                   icon="✅")
    if out.is_file():
        st.download_button("Download the checkpoint", out.read_bytes(), file_name=out.name,
                           mime="application/octet-stream", key="train_download",
                           icon=":material/download:")
    st.button("Train another model", key="train_again", on_click=_new_run, icon=":material/add:")
    if p.state in ("finished", "cancelled"):  # last: scoring takes seconds, the buttons do not wait
        train_quality.show(catalog.file_ref(out), job.model_cfg.kind, job.meta.get("dataset", ""))


def main() -> None:
    st.title("Train your own")
    st.markdown("Train a model in the background while you keep presenting: the page shows progress, "
                "images/s, the ETA and the loss curves, then the model's FID and sharpness beside the "
                "shipped model's, and the result appears on every other page.")
    job = _job()
    if job is None:
        form()
        return
    if not job.started:
        st.fragment(run_every=REFRESH_S)(waiting)(job)
        return
    running = not job.progress().done
    if not running:
        # The outcome goes above the progress fragment, not below it: the full rerun that the
        # fragment requests when the job ends can be merged with a fragment rerun its timer had
        # already queued; Streamlit then skips the fragment in the full run and redraws it right
        # after, and an element placed after the fragment was overwritten in the browser (the
        # "Cancelled after …" message vanished in about 1 of 4 browser runs).
        result(job)
    st.fragment(run_every=REFRESH_S if running else None)(progress)(job, running)


main()
