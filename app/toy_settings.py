"""The live page's settings: the preset, λ, kernel, scales, latent size, learning rates, speed and
batch size as widgets (kept in the URL), and the two recipes they make. A preset's own value is
always among a slider's values, so a link never loses one."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app import share
from app.i18n import N_, _
from wae_core.models.config import KERNELS, PAPER_KERNEL_SCALES
from wae_core.training import recipes

WAE_LABELS = {"wae-mmd": N_("WAE-MMD (kernel MMD)"), "wae-gan": N_("WAE-GAN (latent adversary)")}
WAE_KINDS = list(WAE_LABELS)
SPEEDS = [1, 2, 5, 10, 20, 50, 100, 0]  # steps per refresh; 0 = as fast as the CPU allows
# The values the settings offer (a preset's own value is always added, see _options).
LAMBDAS = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
SCALES = [(s,) for s in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)] + [PAPER_KERNEL_SCALES]
Z_DIMS = [1, 2, 4, 8]
GAN_LRS = [5e-5, 1e-4, 2e-4, 5e-4, 1e-3]
WAE_LRS = [1e-4, 3e-4, 1e-3, 3e-3]
BATCHES = [64, 128, 256]


def preset_recipes(wae_kind: str) -> tuple[recipes.Recipe, recipes.Recipe]:
    preset = st.session_state.get("toy_preset", recipes.DEFAULT_LIVE_PRESET)
    return recipes.live_recipe(preset, "gan"), recipes.live_recipe(preset, wae_kind)


def apply_preset() -> None:
    """Callback of the preset and WAE choices: set the settings' widgets to the preset's values."""
    s = st.session_state
    gan, wae = preset_recipes(s.get("toy_wae_kind", WAE_KINDS[0]))
    s["toy_lam"], s["toy_kernel"] = wae.model.lam, wae.model.kernel
    s["toy_kernel_scales"] = scales_label(wae.model.kernel_scales)
    s["toy_lr_gan"], s["toy_lr_wae"] = gan.train.lr, wae.train.lr
    s["toy_z_dim"], s["toy_batch"] = wae.model.z_dim, wae.train.batch_size


def _with(r: recipes.Recipe, lr: float, **model: object) -> recipes.Recipe:
    """The recipe with the page's settings; the adversary keeps the preset's ratio of rates."""
    s = st.session_state
    train = replace(r.train, batch_size=int(s["toy_batch"]), lr=lr, lr_adv=lr * r.train.lr_adv / r.train.lr)
    return replace(r, model=replace(r.model, z_dim=int(s["toy_z_dim"]), **model), train=train)


def recipes_for(wae_kind: str) -> list[recipes.Recipe]:
    s = st.session_state
    gan, wae = preset_recipes(wae_kind)
    return [_with(gan, float(s["toy_lr_gan"])),
            _with(wae, float(s["toy_lr_wae"]), lam=float(s["toy_lam"]), kernel=s["toy_kernel"],
                  kernel_scales=scales_of(s["toy_kernel_scales"]))]


def _options(values: list, current: object) -> list:
    """A slider's values, with the preset's own value among them."""
    return values if current in values else sorted([*values, current])


def _describe(r: recipes.Recipe) -> str:
    m = r.model
    parts = [_("MLPs of {depth} × {hidden} units").format(depth=m.depth, hidden=m.hidden),
             _("a Gaussian encoder") if m.stochastic_encoder else _("a deterministic encoder")]
    if m.kind == "wae-gan":
        parts.append(_("latent adversary {depth} × {hidden}").format(depth=m.disc_depth,
                                                                      hidden=m.disc_hidden))
    return f"{', '.join(parts)} (`{r.name}`)"


def settings(wae_kind: str, refresh_s: float) -> None:
    s = st.session_state
    if "toy_lam" not in s:
        apply_preset()  # the preset's values first: the URL may set some of them
    share.keep_in_url("toy-lab", url_settings())
    gan, wae = preset_recipes(wae_kind)
    with st.expander(_("Settings"), expanded=False, icon=":material/tune:"):
        c1, c2, c3, c4 = st.columns(4)
        c1.select_slider(_("λ (weight of D_Z)"), _options(LAMBDAS, s["toy_lam"]), key="toy_lam",
                         help=_("WAE only; changes apply while training."))
        c1.radio(_("Kernel"), KERNELS, horizontal=True, key="toy_kernel",
                 help=_("WAE-MMD only: inverse multiquadratics or Gaussian."))
        labels = [scales_label(v) for v in SCALES]
        c2.select_slider(_("Kernel scales s (C = 2·d_z·s)"), _options(labels, s["toy_kernel_scales"]),
                         key="toy_kernel_scales",
                         help=_("One scale, or the sum over the paper's scales."))
        c2.select_slider(_("Latent size d_z"), _options(Z_DIMS, s["toy_z_dim"]), key="toy_z_dim",
                         help=_("Both models; changing it resets the runs."))
        c3.select_slider(_("GAN learning rate"), _options(GAN_LRS, s["toy_lr_gan"]), key="toy_lr_gan",
                         format_func=lambda v: f"{v:g}")
        c3.select_slider(_("WAE learning rate"), _options(WAE_LRS, s["toy_lr_wae"]), key="toy_lr_wae",
                         format_func=lambda v: f"{v:g}",
                         help=_("Its latent adversary (WAE-GAN) learns at {ratio:g}× this rate.").format(
                             ratio=wae.train.lr_adv / wae.train.lr))
        c4.select_slider(_("Speed (steps per refresh)"), SPEEDS, value=0, key="toy_speed",
                         format_func={v: _("max") if v == 0 else str(v) for v in SPEEDS}.get,
                         help=_("The view refreshes every {refresh:g} s; 'max' trains as fast as "
                                "the CPU allows.").format(refresh=refresh_s))
        c4.select_slider(_("Batch size"), _options(BATCHES, s["toy_batch"]), key="toy_batch",
                         help=_("Smaller batches train faster per step; changing it resets the runs."))
        st.caption(_("GAN: {gan}. WAE: {wae}. Adam with β₁ = {beta1:g}. λ, kernel, scales and learning "
                     "rates apply live; the preset, data, latent size, batch size and WAE penalty reset "
                     "the runs.").format(gan=_describe(gan), wae=_describe(wae), beta1=wae.train.beta1))


def url_settings() -> dict[str, share.Param]:
    """The settings kept in the URL (a preset's own value is among a slider's values, so any
    value in range is one)."""
    positive = share.number(1e-6, 1e6)
    scales = share.Param(lambda t: scales_label(tuple(map(positive.parse, t.split(" + ")))))
    return {"toy_lam": positive, "toy_kernel": share.choice(KERNELS), "toy_kernel_scales": scales,
            "toy_z_dim": share.integer(1, 64), "toy_lr_gan": share.number(1e-7, 1.0),
            "toy_lr_wae": share.number(1e-7, 1.0), "toy_speed": share.choice(SPEEDS),
            "toy_batch": share.integer(2, 4096)}


def scales_label(scales: tuple[float, ...]) -> str:
    """A slider label that names a kernel's scales (a tuple cannot be a select_slider value: it
    would be read as a range)."""
    return " + ".join(f"{v:g}" for v in scales)


def scales_of(label: str) -> tuple[float, ...]:
    return tuple(float(v) for v in label.split(" + "))
