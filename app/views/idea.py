"""The idea: the seminar deck's story in order, each formula rendered from the docstring of the
wae_core function that implements it, next to a live number or picture from the shipped models.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import streamlit as st
import torch

from app import cache, catalog, datasets, drawn, export, stacked
from app import components as C
from app.catalog import CheckpointInfo
from app.i18n import _
from wae_core.evaluation import metrics
from wae_core.models import divergences as div
from wae_core.models.config import MODEL_KINDS
from wae_core.models.generative import _WAE, GAN, VAE, WAEGAN, WAEMMD, NoEncoderError
from wae_core.training.recipes import checkpoint_name

Shipped = Callable[[str], "CheckpointInfo | None"]

N_STATS = 500  # test images behind the live KL / MMD / JS numbers
N_OT = 200  # points per side of the exact OT cost (Hungarian algorithm, O(n^3))
N_FIGURE = 100  # test images in the posterior figure
N_COVERAGE = 1000  # GAN samples classified for the coverage numbers
N_GRID = 60  # GAN samples shown
N_RING = 40  # points per side of the optimal coupling on the ring


def _section(title: str, lead: str) -> tuple:
    st.divider()
    st.header(title)
    st.markdown(lead)
    return st.columns([1, 1], gap="large")


def vae_blur(seed: int, shipped: Shipped) -> None:
    left, right = _section(
        _("1 · VAE: blurry samples"),
        _("A VAE maximises a lower bound on the likelihood: a reconstruction term plus a KL term that "
          "pulls **every** posterior Q(Z|X=x) towards the prior P_Z."))
    with left:
        C.latex(VAE)
        st.markdown(_("with the KL of each Gaussian posterior in closed form:"))
        C.latex(div.kl_normal)
    with right:
        vae, wae = shipped("mnist-vae"), shipped("mnist-wae-mmd")
        if vae is None or wae is None:
            C.missing_note(["mnist-vae", "mnist-wae-mmd"], _("the sample comparison"))
            return
        with C.guarded(_("VAE vs WAE samples")):
            cols = st.columns(2)
            for col, info in zip(cols, (vae, wae)):
                with col:
                    imgs = cache.samples(info.ref, 36, seed)
                    st.markdown(_("**{model}** samples").format(model=info.kind_label))
                    C.image_grid(imgs, ncol=6, scale=3, key=f"idea_samples_png_{info.id}",
                                 download_name=f"idea-samples-{info.id}-seed{seed}.png")
                    st.metric(_("Sharpness"), C.fmt(cache.sharpness(imgs), ".2e"),
                              help=_("Variance of the Laplace-filtered image (metrics.sharpness): "
                                     "higher is sharper."))
            post = cache.vae_posteriors(vae.ref, N_STATS, seed)
            sigma_z = cache.get_model(vae.ref).cfg.sigma_z
            st.markdown(_("KL term of the VAE on {n} test images: **{kl} nats** per image; mean "
                          "posterior std **{std}** (the prior's σ_z is {sigma_z}). The decoder must "
                          "explain every draw of these noisy codes, so it hedges: the blur.").format(
                n=N_STATS, kl=f"{post['kl'].mean():.2f}", std=f"{post['sigma'].mean():.2f}",
                sigma_z=f"{sigma_z:g}"))


def gan(seed: int, shipped: Shipped) -> None:
    left, right = _section(
        _("2 · GAN: no encoder, and mode collapse"),
        _("A GAN trains a generator against a discriminator on the data space. Sharp samples, but "
          "**no encoder** (no latent code for a given image), hard training and **mode collapse**: "
          "the generator keeps producing *the same digit again and again*."))
    with left:
        C.latex(GAN)
    with right:
        info = shipped("mnist-gan")
        if info is None:
            C.missing_note(["mnist-gan"], _("the GAN demo"))
            return
        with C.guarded("GAN"):
            model = cache.get_model(info.ref)
            x, _labels = cache.test_images(cache.random_test_indices(1, seed))
            try:
                model.encode(torch.as_tensor(x))
            except NoEncoderError as e:  # the point: show the library's own refusal
                st.code(f">>> gan.encode(x)\nNoEncoderError: {e}", language="text", wrap_lines=True)
            net = cache.load_classifier()
            if net is None:
                C.image_grid(cache.samples(info.ref, N_GRID, seed), ncol=10, scale=2, key="idea_gan_png",
                             download_name=f"idea-gan-samples-seed{seed}.png")
                st.caption(_("GAN samples (no classifier found, so unsorted)."))
                return
            clf = catalog.classifier_ref()
            cov = cache.coverage(info.ref, N_COVERAGE, seed, clf)["coverage"]
            C.show_png(drawn.sorted_samples_png(info.ref, N_COVERAGE, seed, clf, N_GRID, 10, 2),
                       key="idea_gan_sorted_png", download_name=f"idea-gan-samples-by-digit-seed{seed}.png")
            st.markdown(_("{k} GAN samples sorted by predicted digit. Of {n} samples: **{covered}/10** "
                          "digits covered, largest digit **{largest}** (uniform: 10 %), KL to uniform "
                          "**{kl}**. More on the *Mode collapse* page.").format(
                k=N_GRID, n=f"{N_COVERAGE:,}", covered=cov["classes_covered"],
                largest=f"{max(cov['counts']) / N_COVERAGE:.0%}", kl=f"{cov['kl_to_uniform']:.3f}"))
            bench = stacked.summary()
            if bench:  # ten digits are too few to see a collapse; 1,000 modes are not
                st.markdown(_("Ten digits are few modes to drop. {benchmark} Switch the sidebar's "
                              "**Data set** to Stacked MNIST to see it on *Mode collapse*.").format(
                    benchmark=bench))


def optimal_transport(seed: int, shipped: Shipped) -> None:
    left, right = _section(
        _("3 · Optimal transport"),
        _("Measure the distance between the data distribution P_X and the model P_G by the cheapest "
          "way to move one onto the other: the optimal transport cost, over all couplings Γ."))
    with left:
        C.latex(div.optimal_transport, 0)
        st.markdown(_("When the decoder G is **deterministic**, a coupling is the same as an encoder "
                      "Q(Z|X) whose aggregate Q_Z equals the prior (Theorem 1):"))
        C.latex(div.optimal_transport, 1)
        st.markdown(_("Between two samples of n points the optimal coupling is a permutation:"))
        C.latex(div.optimal_transport, 2)
    with right:
        ring = shipped("ring-wae-mmd") or shipped("ring-gan")
        if ring is not None:
            with C.guarded(_("Optimal coupling on the ring")):
                fig, pairs, cost = drawn.ot_ring(ring.ref, N_RING, seed)
                export.chart(fig, "idea_ot_ring", pairs, name=f"ot-coupling-ring-seed{seed}")
                st.caption(_("{n} points of the ring and {n} samples of {model} ({file}), matched "
                             "optimally: mean cost ‖x − y‖² = **{cost}**.").format(
                    n=N_RING, model=ring.kind_label, file=ring.id, cost=f"{cost:.3f}"))
        infos = [i for i in (shipped(checkpoint_name("mnist", k)) for k in MODEL_KINDS) if i is not None]
        if not infos:
            C.missing_note([checkpoint_name("mnist", k) for k in MODEL_KINDS], _("the OT costs on MNIST"))
            return
        with C.guarded(_("OT costs on MNIST")), st.spinner(_("Solving the assignment problems…")):
            costs = cache.ot_costs(tuple(i.ref for i in infos), N_OT, seed)
            cols = st.columns(len(infos))
            for col, info, c in zip(cols, infos, costs):
                col.metric(info.kind_label, f"{c:.2f}")
            scale = cache.get_model(infos[0].ref).cfg.recon_scale
            st.caption(_("Exact OT cost c(x, y) = {scale}‖x − y‖² between {n} MNIST test images and "
                         "{n} samples of each model (lower: closer to the data).").format(
                scale=f"{scale:g}", n=N_OT))


def wae_objective(seed: int, shipped: Shipped) -> None:
    st.divider()
    st.header(_("4 · The WAE objective"))
    st.markdown(_("Relax the constraint Q_Z = P_Z into a penalty: a reconstruction cost plus λ times a "
                  "divergence D_Z between the **aggregate** posterior Q_Z and the prior. Each Q(Z|X=x) "
                  "may stay small and apart; only their mixture has to look like P_Z."))
    C.latex(_WAE)
    st.markdown(_("(a) The VAE pushes every Q(Z|X=x) towards P_Z; (b) the WAE pushes only "
                  "Q_Z = E[Q(Z|X)] towards P_Z, so codes of different images may stay apart and the "
                  "decoder has no reason to blur."))
    vae, wae = shipped("mnist-vae-z2"), shipped("mnist-wae-mmd-z2")
    if vae is None and wae is None:
        C.missing_note(["mnist-vae-z2", "mnist-wae-mmd-z2"], _("the figure"))
        return
    with C.guarded(_("The posterior figure")):
        fig, rows = drawn.posteriors(vae.ref if vae else None, wae.ref if wae else None, N_FIGURE, seed)
        export.chart(fig, "idea_posteriors", rows, name=f"posteriors-vae-vs-wae-seed{seed}")
        st.caption(_("{n} MNIST test images, coloured by digit, over the density of the prior P_Z. "
                     "(a) mnist-vae-z2: μ ± 2σ of each Q(Z|X=x). (b) mnist-wae-mmd-z2: the "
                     "(deterministic) codes.").format(n=N_FIGURE))
        if vae is None or wae is None:
            C.missing_note(["mnist-vae-z2" if vae is None else "mnist-wae-mmd-z2"],
                           _("the other half of the figure"))


def penalties(seed: int, shipped: Shipped) -> None:
    st.divider()
    st.header(_("5 · Two ways to measure D_Z(Q_Z, P_Z)"))
    st.markdown(_("Both work on samples only: codes of a data batch (Q_Z) and draws of the prior (P_Z)."))
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader(_("WAE-GAN: a latent adversary (JS)"))
        st.markdown(_("A discriminator **in the latent space Z** tells prior samples from codes; its "
                      "optimum estimates the Jensen–Shannon divergence D_JS(Q_Z, P_Z)."))
        C.latex(div.adversary_loss)
        C.latex(WAEGAN)
        info = shipped("mnist-wae-gan")
        if info is None:
            C.missing_note(["mnist-wae-gan"], _("the live JS estimate"))
        else:
            with C.guarded(_("Latent adversary")):
                js = cache.latent_js(info.ref, N_STATS, seed)
                c = st.columns(2)
                c[0].metric(_("Discriminator loss L_D"), f"{js['disc_loss']:.3f}",
                            help=_("log 4 ≈ {log4} when it cannot tell codes from prior samples").format(
                                log4=f"{math.log(4):.3f}"))
                c[1].metric(_("D_JS estimate"), f"{js['js']:.3f}",
                            help=_("wae_core.models.divergences.js_estimate, the formula below"))
                C.latex(div.js_estimate)
                st.caption(_("The shipped WAE-GAN's discriminator on {n} test codes and as many prior "
                             "draws.").format(n=N_STATS))
    with right:
        st.subheader(_("WAE-MMD: a kernel (MMD)"))
        st.markdown(_("With a positive-definite reproducing kernel k, the maximum mean discrepancy "
                      "compares the mean embeddings of the two distributions."))
        C.latex(div.mmd, 0)
        C.latex(div.imq_kernel)
        with st.expander(_("The estimator used in training")):
            C.latex(div.mmd, 1)
            C.latex(WAEMMD)
        infos = [i for i in (shipped("mnist-wae-mmd"), shipped("mnist-vae")) if i is not None]
        if not infos:
            C.missing_note(["mnist-wae-mmd", "mnist-vae"], _("the live MMD"))
        else:
            with C.guarded(_("Latent MMD")):
                cols = st.columns(len(infos))
                for col, info in zip(cols, infos):
                    col.metric(f"MMD(Q_Z, P_Z) · {info.kind_label}",
                               C.fmt(cache.latent_mmd(info.ref, N_STATS, seed), ".2e"))
                st.caption(_("Unbiased MMD² of {n} test codes (drawn from Q(Z|X)) against {n} prior "
                             "draws (metrics.latent_mmd); ≈ 0 or below: indistinguishable at this "
                             "sample size.").format(n=N_STATS))


def paper_table() -> None:
    st.divider()
    st.header(_("6 · What the paper reports"))
    st.markdown(_("CelebA 64×64 (Tolstikhin et al., 2018): FID (lower is better) and sharpness "
                  "(higher is sharper). Our own MNIST numbers are on the *Results* page."))
    # Markdown rather than st.table: the paper's few rows do not need pandas (~1 s to import).
    st.markdown(f"| {_('Algorithm')} | FID | {_('Sharpness')} |\n|---|---|---|\n"
                + "\n".join(f"| {_(name)} | {fid} | {sharp} |" for name, fid, sharp in C.PAPER_ROWS))
    export.csv_button([dict(zip(("Algorithm", "FID", "Sharpness"), r)) for r in C.PAPER_ROWS],
                      "idea_paper_csv", "paper-celeba")
    with st.expander(_("Sharpness, as defined in the paper")):
        C.latex(metrics.sharpness)


def main() -> None:
    st.title(_("Wasserstein Auto-Encoders: the idea"))
    st.markdown(_("Tolstikhin, Bousquet, Gelly, Schölkopf — *Wasserstein Auto-Encoders*, ICLR 2018. "
                  "Every formula below is rendered from the docstring of the code that computes it; "
                  "every number is computed now from the shipped models."))
    ds = C.current_dataset()
    if ds.name != datasets.MNIST.name:
        st.info(_("This page tells the paper's story on MNIST: it shows the shipped MNIST models and "
                  "MNIST test images whatever the sidebar's data set ({label} now). The other pages "
                  "follow the sidebar.").format(label=ds.label), icon=":material/info:")
    seed = C.current_seed()
    # One listing per run: each listing reads every checkpoint's header again.
    listed = catalog.list_checkpoints(include_uploads=False)

    def shipped(stem: str) -> CheckpointInfo | None:
        """As :func:`app.catalog.shipped`, from this run's listing."""
        return next((i for i in listed if i.id == stem or (i.path is not None and i.path.stem == stem)),
                    None)

    for part in (vae_blur, gan, optimal_transport, wae_objective, penalties):
        part(seed, shipped)
    paper_table()


main()
