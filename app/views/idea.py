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
from wae_core import divergences as div
from wae_core import metrics
from wae_core.config import MODEL_KINDS
from wae_core.models import _WAE, GAN, VAE, WAEGAN, WAEMMD, NoEncoderError

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
        "1 · VAE: blurry samples",
        "A VAE maximises a lower bound on the likelihood: a reconstruction term plus a KL term that "
        "pulls **every** posterior Q(Z|X=x) towards the prior P_Z.")
    with left:
        C.latex(VAE)
        st.markdown("with the KL of each Gaussian posterior in closed form:")
        C.latex(div.kl_normal)
    with right:
        vae, wae = shipped("mnist-vae"), shipped("mnist-wae-mmd")
        if vae is None or wae is None:
            C.missing_note(["mnist-vae", "mnist-wae-mmd"], "the sample comparison")
            return
        with C.guarded("VAE vs WAE samples"):
            cols = st.columns(2)
            for col, info in zip(cols, (vae, wae)):
                with col:
                    imgs = cache.samples(info.ref, 36, seed)
                    st.markdown(f"**{info.kind_label}** samples")
                    C.image_grid(imgs, ncol=6, scale=3, key=f"idea_samples_png_{info.id}",
                                 download_name=f"idea-samples-{info.id}-seed{seed}.png")
                    st.metric("Sharpness", C.fmt(cache.sharpness(imgs), ".2e"),
                              help="Variance of the Laplace-filtered image (metrics.sharpness): "
                                   "higher is sharper.")
            post = cache.vae_posteriors(vae.ref, N_STATS, seed)
            sigma_z = cache.get_model(vae.ref).cfg.sigma_z
            st.markdown(f"KL term of the VAE on {N_STATS} test images: **{post['kl'].mean():.2f} nats** "
                        f"per image; mean posterior std **{post['sigma'].mean():.2f}** (the prior's "
                        f"σ_z is {sigma_z:g}). The decoder must explain every draw of these noisy codes, "
                        "so it hedges: the blur.")


def gan(seed: int, shipped: Shipped) -> None:
    left, right = _section(
        "2 · GAN: no encoder, and mode collapse",
        "A GAN trains a generator against a discriminator on the data space. Sharp samples, but "
        "**no encoder** (no latent code for a given image), hard training and **mode collapse**: "
        "the generator keeps producing *the same digit again and again*.")
    with left:
        C.latex(GAN)
    with right:
        info = shipped("mnist-gan")
        if info is None:
            C.missing_note(["mnist-gan"], "the GAN demo")
            return
        with C.guarded("GAN"):
            model = cache.get_model(info.ref)
            x, _ = cache.test_images(cache.random_test_indices(1, seed))
            try:
                model.encode(torch.as_tensor(x))
            except NoEncoderError as e:  # the point: show the library's own refusal
                st.code(f">>> gan.encode(x)\nNoEncoderError: {e}", language="text", wrap_lines=True)
            net = cache.load_classifier()
            if net is None:
                C.image_grid(cache.samples(info.ref, N_GRID, seed), ncol=10, scale=2, key="idea_gan_png",
                             download_name=f"idea-gan-samples-seed{seed}.png")
                st.caption("GAN samples (no classifier found, so unsorted).")
                return
            clf = catalog.classifier_ref()
            cov = cache.coverage(info.ref, N_COVERAGE, seed, clf)["coverage"]
            C.show_png(drawn.sorted_samples_png(info.ref, N_COVERAGE, seed, clf, N_GRID, 10, 2),
                       key="idea_gan_sorted_png", download_name=f"idea-gan-samples-by-digit-seed{seed}.png")
            st.markdown(f"{N_GRID} GAN samples sorted by predicted digit. Of {N_COVERAGE:,} samples: "
                        f"**{cov['classes_covered']}/10** digits covered, largest digit "
                        f"**{max(cov['counts']) / N_COVERAGE:.0%}** (uniform: 10 %), KL to uniform "
                        f"**{cov['kl_to_uniform']:.3f}**. More on the *Mode collapse* page.")
            bench = stacked.summary()
            if bench:  # ten digits are too few to see a collapse; 1,000 modes are not
                st.markdown("Ten digits are few modes to drop. " + bench + " Switch the sidebar's "
                            "**Data set** to Stacked MNIST to see it on *Mode collapse*.")


def optimal_transport(seed: int, shipped: Shipped) -> None:
    left, right = _section(
        "3 · Optimal transport",
        "Measure the distance between the data distribution P_X and the model P_G by the cheapest "
        "way to move one onto the other: the optimal transport cost, over all couplings Γ.")
    with left:
        C.latex(div.optimal_transport, 0)
        st.markdown("When the decoder G is **deterministic**, a coupling is the same as an encoder "
                    "Q(Z|X) whose aggregate Q_Z equals the prior (Theorem 1):")
        C.latex(div.optimal_transport, 1)
        st.markdown("Between two samples of n points the optimal coupling is a permutation:")
        C.latex(div.optimal_transport, 2)
    with right:
        ring = shipped("ring-wae-mmd") or shipped("ring-gan")
        if ring is not None:
            with C.guarded("Optimal coupling on the ring"):
                fig, pairs, cost = drawn.ot_ring(ring.ref, N_RING, seed)
                export.chart(fig, "idea_ot_ring", pairs, name=f"ot-coupling-ring-seed{seed}")
                st.caption(f"{N_RING} points of the ring and {N_RING} samples of {ring.kind_label} "
                           f"({ring.id}), matched optimally: mean cost ‖x − y‖² = **{cost:.3f}**.")
        infos = [i for i in (shipped(f"mnist-{k}") for k in MODEL_KINDS) if i is not None]
        if not infos:
            C.missing_note([f"mnist-{k}" for k in MODEL_KINDS], "the OT costs on MNIST")
            return
        with C.guarded("OT costs on MNIST"), st.spinner("Solving the assignment problems…"):
            costs = cache.ot_costs(tuple(i.ref for i in infos), N_OT, seed)
            cols = st.columns(len(infos))
            for col, info, c in zip(cols, infos, costs):
                col.metric(info.kind_label, f"{c:.2f}")
            scale = cache.get_model(infos[0].ref).cfg.recon_scale
            st.caption(f"Exact OT cost c(x, y) = {scale:g}‖x − y‖² between {N_OT} MNIST test images and "
                       f"{N_OT} samples of each model (lower: closer to the data).")


def wae_objective(seed: int, shipped: Shipped) -> None:
    st.divider()
    st.header("4 · The WAE objective")
    st.markdown("Relax the constraint Q_Z = P_Z into a penalty: a reconstruction cost plus λ times a "
                "divergence D_Z between the **aggregate** posterior Q_Z and the prior. Each Q(Z|X=x) "
                "may stay small and apart; only their mixture has to look like P_Z.")
    C.latex(_WAE)
    st.markdown("(a) The VAE pushes every Q(Z|X=x) towards P_Z; (b) the WAE pushes only "
                "Q_Z = E[Q(Z|X)] towards P_Z, so codes of different images may stay apart and the "
                "decoder has no reason to blur.")
    vae, wae = shipped("mnist-vae-z2"), shipped("mnist-wae-mmd-z2")
    if vae is None and wae is None:
        C.missing_note(["mnist-vae-z2", "mnist-wae-mmd-z2"], "the figure")
        return
    with C.guarded("The posterior figure"):
        fig, rows = drawn.posteriors(vae.ref if vae else None, wae.ref if wae else None, N_FIGURE, seed)
        export.chart(fig, "idea_posteriors", rows, name=f"posteriors-vae-vs-wae-seed{seed}")
        st.caption(f"{N_FIGURE} MNIST test images, coloured by digit, over the density of "
                   "the prior P_Z. (a) mnist-vae-z2: μ ± 2σ of each Q(Z|X=x). "
                   "(b) mnist-wae-mmd-z2: the (deterministic) codes.")
        if vae is None or wae is None:
            C.missing_note(["mnist-vae-z2" if vae is None else "mnist-wae-mmd-z2"],
                             "the other half of the figure")


def penalties(seed: int, shipped: Shipped) -> None:
    st.divider()
    st.header("5 · Two ways to measure D_Z(Q_Z, P_Z)")
    st.markdown("Both work on samples only: codes of a data batch (Q_Z) and draws of the prior (P_Z).")
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("WAE-GAN: a latent adversary (JS)")
        st.markdown("A discriminator **in the latent space Z** tells prior samples from codes; its "
                    "optimum estimates the Jensen–Shannon divergence D_JS(Q_Z, P_Z).")
        C.latex(div.adversary_loss)
        C.latex(WAEGAN)
        info = shipped("mnist-wae-gan")
        if info is None:
            C.missing_note(["mnist-wae-gan"], "the live JS estimate")
        else:
            with C.guarded("Latent adversary"):
                js = cache.latent_js(info.ref, N_STATS, seed)
                c = st.columns(2)
                c[0].metric("Discriminator loss L_D", f"{js['disc_loss']:.3f}",
                            help=f"log 4 ≈ {math.log(4):.3f} when it cannot tell codes from prior "
                                 "samples")
                c[1].metric("D_JS estimate", f"{js['js']:.3f}",
                            help="wae_core.divergences.js_estimate, the formula below")
                C.latex(div.js_estimate)
                st.caption(f"The shipped WAE-GAN's discriminator on {N_STATS} test codes and as many "
                           "prior draws.")
    with right:
        st.subheader("WAE-MMD: a kernel (MMD)")
        st.markdown("With a positive-definite reproducing kernel k, the maximum mean discrepancy "
                    "compares the mean embeddings of the two distributions.")
        C.latex(div.mmd, 0)
        C.latex(div.imq_kernel)
        with st.expander("The estimator used in training"):
            C.latex(div.mmd, 1)
            C.latex(WAEMMD)
        infos = [i for i in (shipped("mnist-wae-mmd"), shipped("mnist-vae")) if i is not None]
        if not infos:
            C.missing_note(["mnist-wae-mmd", "mnist-vae"], "the live MMD")
        else:
            with C.guarded("Latent MMD"):
                cols = st.columns(len(infos))
                for col, info in zip(cols, infos):
                    col.metric(f"MMD(Q_Z, P_Z) · {info.kind_label}",
                               C.fmt(cache.latent_mmd(info.ref, N_STATS, seed), ".2e"))
                st.caption(f"Unbiased MMD² of {N_STATS} test codes (drawn from Q(Z|X)) against "
                           f"{N_STATS} prior draws (metrics.latent_mmd); ≈ 0 or below: "
                           "indistinguishable at this sample size.")


def paper_table() -> None:
    st.divider()
    st.header("6 · What the paper reports")
    st.markdown("CelebA 64×64 (Tolstikhin et al., 2018): FID (lower is better) and sharpness "
                "(higher is sharper). Our own MNIST numbers are on the *Results* page.")
    # Markdown rather than st.table: the paper's few rows do not need pandas (~1 s to import).
    st.markdown("| Algorithm | FID | Sharpness |\n|---|---|---|\n"
                + "\n".join(f"| {name} | {fid} | {sharp} |" for name, fid, sharp in C.PAPER_ROWS))
    export.csv_button([dict(zip(("Algorithm", "FID", "Sharpness"), r)) for r in C.PAPER_ROWS],
                      "idea_paper_csv", "paper-celeba")
    with st.expander("Sharpness, as defined in the paper"):
        C.latex(metrics.sharpness)


def main() -> None:
    st.title("Wasserstein Auto-Encoders: the idea")
    st.markdown("Tolstikhin, Bousquet, Gelly, Schölkopf — *Wasserstein Auto-Encoders*, ICLR 2018. "
                "Every formula below is rendered from the docstring of the code that computes it; "
                "every number is computed now from the shipped models.")
    ds = C.current_dataset()
    if ds.name != datasets.MNIST.name:
        st.info(f"This page tells the paper's story on MNIST: it shows the shipped MNIST models and "
                f"MNIST test images whatever the sidebar's data set ({ds.label} now). The other pages "
                f"follow the sidebar.", icon=":material/info:")
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
