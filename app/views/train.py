"""Train your own: a VAE / WAE-MMD / WAE-GAN / GAN on MNIST, Fashion-MNIST, Stacked MNIST or a zip of images,
in a background thread (``wae_core.live.BackgroundTraining`` around ``wae_core.training.trainer.Trainer``).
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
from app.i18n import N_, _
from app.live_frames import translated
from wae_core import live
from wae_core.data.datasets import DatasetUnavailableError, TensorData, load_dataset, load_image_folder
from wae_core.models.config import KERNELS, KIND_LABELS
from wae_core.training import recipes
from wae_core.training.fits import data_config

JOB_KEY = "train_job"
TICKET_KEY = "train_ticket"  # the job's place in the hub's queue (shared with the live runs)
MSG_KEY = "train_message"
DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST",
            "stacked-mnist": N_("Stacked MNIST (3 channels, 1,000 modes)"),
            "zip": N_("Upload a zip of images")}
ZIP_MB = 100
LAMBDAS = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
Z_SIZES = [2, 4, 8, 16, 32]
REFRESH_S = 0.5
# The archive limit is extract_image_zip's default: read it, not a copy of it.
ZIP_MAX_FILES = inspect.signature(live.extract_image_zip).parameters["max_files"].default


@st.cache_resource(show_spinner=False, max_entries=2)
def _train_set_cached(name: str) -> TensorData:
    return load_dataset(name, "train")


def _train_set(name: str) -> TensorData:
    # the spinner here, not in the decorator: its text is in the session's language (a cache hit
    # returns before the spinner's delay, so it shows only while loading, as before)
    with st.spinner(_("Loading the training set…")):
        return _train_set_cached(name)


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
    kind = c1.selectbox(_("Model"), list(KIND_LABELS), format_func=KIND_LABELS.get, key="train_kind", index=1)
    r = recipes.get(recipes.checkpoint_name("own", kind))
    dataset = c2.selectbox(_("Data"), list(DATASETS), format_func={d: _(v) for d, v in DATASETS.items()}.get,
                           key="train_data")
    c3.text_input(_("Run name"), key="train_name", placeholder=_("(automatic)"),
                  help=_("The checkpoint is saved as runs/<name>.safetensors"))
    zip_file = None
    if dataset == "zip":
        zip_file = st.file_uploader(_("Zip of images (one sub-folder per class, optional)"), type=["zip"],
                                    key="train_zip", max_upload_size=ZIP_MB,
                                    help=_("PNG / JPEG / ... images; each becomes a 28×28 greyscale "
                                           "MNIST-style image. Up to {n:,} images.").format(n=ZIP_MAX_FILES))
    c1, c2, c3, c4 = st.columns(4)
    c1.number_input(_("Epochs"), 1, 50, r.train.epochs, key="train_epochs")
    c2.number_input(_("Subset (images, 0 = all)"), 0, 60_000, 10_000, step=1000, key="train_subset",
                    help=_("Train on the first N images only: much faster on a CPU."))
    c3.selectbox(_("Latent size z"), Z_SIZES, index=Z_SIZES.index(r.model.z_dim), key="train_z")
    if kind in ("wae-mmd", "wae-gan"):
        c4.select_slider("λ", LAMBDAS, value=r.model.lam, key="train_lam")
    if kind == "wae-mmd":
        c4.radio(_("Kernel"), KERNELS, index=KERNELS.index(r.model.kernel), horizontal=True,
                 key="train_kernel")
    m, t = r.model, r.train
    details = [_("conv widths {enc} / {dec}").format(enc="-".join(map(str, m.channels)),
                                                     dec="-".join(map(str, m.dec_channels))),
               _("batch {n}").format(n=t.batch_size), f"Adam (β₁ = {t.beta1:g})", f"lr {t.lr:g}"]
    if kind in ("wae-gan", "gan"):
        details.append(_("adversary {lr:g}").format(lr=t.lr_adv))
    if kind == "wae-gan":
        details.append(_("{depth} × {hidden} latent adversary").format(depth=m.disc_depth,
                                                                        hidden=m.disc_hidden))
    if t.lr_schedule != "step":
        details.append(_("cosine learning rate to 0 at the last epoch"))
    st.caption(_("Recipe `{name}`: {details}. Its speed (images/s) shows while it trains.").format(
        name=r.name, details=", ".join(details)))
    if st.button(_("Start training"), key="train_start", type="primary", icon=":material/play_arrow:"):
        start(kind, dataset, zip_file, s)
    msg = s.get(MSG_KEY)
    if msg:
        st.error(msg, icon="⚠️")


def start(kind: str, dataset: str, zip_file, s) -> None:  # noqa: ANN001
    s[MSG_KEY] = None
    try:
        if dataset == "zip":
            if zip_file is None:
                s[MSG_KEY] = _("Upload a zip of images first.")
                return
            data = _load_zip(zip_file.getvalue())
            ds_name = f"folder:{Path(zip_file.name).stem}"
        else:
            data = _train_set(dataset)
            ds_name = dataset
    except (live.BadArchiveError, DatasetUnavailableError) as e:
        s[MSG_KEY] = f"{_(DATASETS[dataset])}: {e}"
        return
    subset = int(s.get("train_subset", 0))
    if subset:
        data = data.subset(subset)
    r = recipes.get(recipes.checkpoint_name("own", kind))
    if len(data) < r.train.batch_size:
        s[MSG_KEY] = _("Only {n} images: a training batch needs {batch}.").format(n=len(data),
                                                                                  batch=r.train.batch_size)
        return
    name = live.safe_run_name(s.get("train_name") or _default_name(kind, ds_name.split(":")[0]))
    out = catalog.runs_dir() / f"{name}.safetensors"
    if out.exists():
        s[MSG_KEY] = _("{file} already exists in {folder}: choose another run name.").format(
            file=out.name, folder=out.parent)
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
        st.session_state[MSG_KEY] = _("{error} on this server. Wait for one to finish.").format(
            error=translated(e))
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
        st.session_state[MSG_KEY] = translated(e)
        _leave_queue()
        st.rerun()
    if ticket.granted:
        _launch(job)
        st.rerun()
    note = (_("Queued: position {position} of {length} · training starts in about {eta:.0f} s. Every "
              "core is training; yours starts by itself.") if ticket.eta is not None else
            _("Queued: position {position} of {length} · training starts when the room's live run "
              "stops. Every core is training; yours starts by itself."))
    st.caption(describe(job))
    st.info(note.format(position=ticket.queue_position, length=ticket.queue_length, eta=ticket.eta or 0.0),
            icon=":material/hourglass_top:")
    st.button(_("Leave the queue"), key="train_leave", on_click=_leave_queue, icon=":material/close:")


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return _("ETA …")
    seconds = int(seconds + 0.5)
    return _("ETA {minutes}:{seconds:02d}").format(minutes=seconds // 60, seconds=seconds % 60)


def rate(steps_per_second: float, batch_size: int) -> str:
    """Training images per second at the measured step rate ("… img/s" before the first steps)."""
    if steps_per_second > 0:
        return _("{rate:,.0f} img/s").format(rate=steps_per_second * batch_size)
    return _("… img/s")


def describe(job: live.BackgroundTraining) -> str:
    m, t, meta = job.model_cfg, job.train_cfg, job.meta
    n = len(job.data)
    details = [f"z = {m.z_dim}"]
    if m.kind in ("wae-mmd", "wae-gan"):
        details.append(f"λ {m.lam:g}")
    if m.kind == "wae-mmd":
        details.append(_("{kernel} kernel").format(kernel=m.kernel))
    return _("{model} ({details}) on {dataset}, {n:,} images, {epochs} epoch(s) → `{out}`").format(
        model=KIND_LABELS[m.kind], details=", ".join(details), dataset=meta.get("dataset", "?"), n=n,
        epochs=t.epochs, out=job.out)


def progress(job: live.BackgroundTraining, was_running: bool) -> None:
    p = job.progress()
    st.caption(describe(job))
    if was_running and p.done:
        st.rerun()  # finished / cancelled / failed: redraw without the timer
    if p.state == "starting":
        st.progress(0.0, text=_("Starting…"))
    else:
        last = ", ".join(f"{k} {v:.4g}" for k, v in p.last_logs.items())
        text = (_("Step {step:,} / {total:,} · epoch {epoch}/{epochs} · {elapsed:.0f} s").format(
                    step=p.step, total=p.total_steps, epoch=min(p.epoch + 1, p.epochs), epochs=p.epochs,
                    elapsed=p.elapsed)
                + f" · {rate(p.steps_per_second, job.train_cfg.batch_size)} · {_eta(p.eta)}"
                + (f" · {last}" if last else ""))
        st.progress(p.fraction, text=text)
    if len(p.history.get("step", [])) > 1:
        st.caption(_("Training losses (averaged over the logging interval)"))
        export.chart(figures.losses_figure(p.history), "train_losses", p.history, name="train-losses")
    if not p.done:
        st.button(_("Cancel"), key="train_cancel", on_click=_cancel, icon=":material/stop:",
                  help=_("Stop after the current step; a usable checkpoint is saved first."))


def result(job: live.BackgroundTraining) -> None:
    p = job.progress()
    out = Path(p.out)
    if p.state == "failed":
        st.error(_("Training failed: {error}").format(error=translated(p.error)), icon="⚠️")
    elif p.state in ("finished", "cancelled"):
        said = (_("Cancelled after {steps:,} steps ({elapsed:.0f} s, {rate}): saved **{file}** in "
                  "`{folder}`. It is now listed in the sidebar's **Models to compare**.")
                if p.state == "cancelled" else
                _("Finished after {steps:,} steps ({elapsed:.0f} s, {rate}): saved **{file}** in "
                  "`{folder}`. It is now listed in the sidebar's **Models to compare**."))
        st.success(said.format(steps=p.step, elapsed=p.elapsed,
                               rate=rate(p.steps_per_second, job.train_cfg.batch_size), file=out.name,
                               folder=out.parent), icon="✅")
    if out.is_file():
        st.download_button(_("Download the checkpoint"), out.read_bytes(), file_name=out.name,
                           mime="application/octet-stream", key="train_download",
                           icon=":material/download:")
    st.button(_("Train another model"), key="train_again", on_click=_new_run, icon=":material/add:")
    if p.state in ("finished", "cancelled"):  # last: scoring takes seconds, the buttons do not wait
        train_quality.show(catalog.file_ref(out), job.model_cfg.kind, job.meta.get("dataset", ""))


def main() -> None:
    st.title(_("Train your own"))
    st.markdown(_("Train a model in the background while you keep presenting: the page shows progress, "
                  "images/s, the ETA and the loss curves, then the model's FID and sharpness beside the "
                  "shipped model's, and the result appears on every other page."))
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
