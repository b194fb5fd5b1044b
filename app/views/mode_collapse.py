"""Mode collapse: which digits (or classes) does each model generate? The data set's classifier's
verdict on n samples. Stacked MNIST (1,000 modes) has its own view, :func:`stacked_view`."""

from __future__ import annotations

import streamlit as st

from app import cache, catalog, datasets, drawn, export, share, stacked
from app import components as C
from app.catalog import CheckpointInfo
from app.datasets import ImageDataset
from app.i18n import N_, _
from wae_core.data.datasets import toy_modes
from wae_core.evaluation import metrics

N_CHOICES = [1000, 2000, 5000, 10000]
GRID_CHOICES = [50, 100, 200]
# The summary tables' column titles: the rows (and their CSV) keep these English keys; the table on
# screen shows them translated (_shown).
TABLE_HEADERS = (N_("Model"), N_("File"), N_("Classes covered"), N_("KL to uniform"),
                 N_("Largest class share"), N_("Samples"), N_("Modes covered"), N_("Largest mode share"))


def _shown(rows: list[dict]) -> list[dict]:
    """The rows with their column titles in the session's language (for st.dataframe only)."""
    return [{_(k) if k in TABLE_HEADERS else k: v for k, v in r.items()} for r in rows]


def column(info: CheckpointInfo, ds: ImageDataset, n: int, seed: int, k: int, i: int) -> dict | None:
    clf = catalog.classifier_ref(ds.name)
    cov = cache.coverage(info.ref, n, seed, clf)["coverage"]
    total = sum(cov["counts"])
    m = C.metric_row()
    m.metric(_("Classes covered"), f"{cov['classes_covered']}/{ds.n_classes}", width="content",
             help=_("A class counts when it gets ≥ {share:.0%} of the samples ({fraction:g} of "
                    "uniform's share).").format(share=metrics.MIN_SHARE_OF_UNIFORM / ds.n_classes,
                                                 fraction=metrics.MIN_SHARE_OF_UNIFORM))
    m.metric(_("KL to uniform"), f"{cov['kl_to_uniform']:.3f}", width="content",
             help=_("0 = every {item} equally often").format(item=_(ds.item)))
    labels = None if ds.name == datasets.MNIST.name else tuple(_(c) for c in ds.class_names)
    export.chart(drawn.class_histogram(tuple(cov["counts"]), labels), f"mc_hist_{i}",
                 {"class": ds.class_names[:len(cov["counts"])], "samples": cov["counts"]},
                 name=f"class-histogram-{info.id}-seed{seed}")
    st.caption(_("{total:,} samples classified · {share:.0%} with confidence ≥ {confident:g}").format(
        total=total, share=cov["confident_share"], confident=metrics.CONFIDENT))
    C.show_png(drawn.sorted_samples_png(info.ref, n, seed, clf, k, 10, 2), key=f"mc_download_{i}",
               download_name=f"samples-by-class-{info.id}-seed{seed}.png")
    st.caption(_("The first {k} samples, sorted by predicted class (rows read {first} → {last}).").format(
        k=min(k, n), first=_(ds.class_names[0]), last=_(ds.class_names[-1])))
    return {"Model": info.kind_label, "File": info.label.split(" · ", 1)[-1],
            "Classes covered": cov["classes_covered"], "KL to uniform": round(cov["kl_to_uniform"], 4),
            "Largest class share": f"{max(cov['counts']) / max(total, 1):.0%}", "Samples": total}


def class_view(infos: list[CheckpointInfo], ds: ImageDataset, n: int, seed: int, k: int) -> None:
    """MNIST and Fashion-MNIST: the data set's LeNet labels n samples of each model; one histogram
    over its 10 classes per model, the samples sorted by class, a summary table."""
    if C.classifier_or_info(ds) is None:
        return
    rows = []
    what = _("Generating and classifying {n:,} samples…").format(n=n)
    for i, (col, info) in _queued_columns(infos, what):
        with col, C.guarded(f"{info.kind_label}"):
            row = column(info, ds, n, seed, min(k, n), i)
            if row:
                rows.append(row)
                if info.kind == "gan" and row["Classes covered"] == ds.n_classes:
                    # Say so rather than let the page's title claim a collapse that is not there.
                    st.info(_("No full collapse here: this GAN covers all {n} classes "
                              "(KL to uniform {kl}). Whether a GAN collapses "
                              "depends on the run: see it on *Stacked MNIST* (1,000 modes, the data "
                              "set switch in the sidebar) and on *Live toy training* "
                              "(ring of {ring} Gaussians).").format(
                                n=ds.n_classes, kl=row["KL to uniform"], ring=len(toy_modes("ring"))),
                            icon=":material/info:")
    if len(rows) > 1:
        st.dataframe(_shown(rows), hide_index=True)
        export.csv_button(rows, "mc_table_csv", f"mode-collapse-seed{seed}")


def _queued_columns(infos: list[CheckpointInfo], what: str):  # noqa: ANN202
    """One column per model, each showing "queued" until its turn, then a spinner while its
    numbers are computed (a first visit never shows blank columns); yields (i, (column, info))
    with ``column`` the container to fill."""
    cols = C.model_columns(infos)
    holders = [col.empty() for col, _col_info in cols]
    for h in holders:
        h.caption(_("Queued: computed in turn, then cached."))
    for i, ((_col, info), h) in enumerate(zip(cols, holders)):
        box = h.container()
        with box, st.spinner(what, show_time=True):
            yield i, (box, info)


STACKED_N_CHOICES = [5000, 10000, 26000]  # 26,000: the published protocol (VEEGAN, PacGAN)


def stacked_column(info: CheckpointInfo, n: int, seed: int, k: int, i: int) -> dict:
    """Modes covered and KL in big numbers, and the first k samples in colour."""
    res = cache.stacked_coverage(info.ref, n, seed, catalog.classifier_ref(datasets.STACKED.name),
                                 max(GRID_CHOICES))
    cov = res["coverage"]
    m = C.metric_row()
    m.metric(_("Modes covered"), f"{cov['classes_covered']:,} / {datasets.STACKED.n_classes:,}",
             width="content",
             help=_("A mode (a triple of digits) counts when one sample lands in it (PacGAN)."))
    m.metric(_("KL to uniform"), f"{cov['kl_to_uniform']:.2f}", width="content",
             help=_("0 = every mode equally often. With {n:,} samples even a perfect generator "
                    "scores about {kl:.3f} (sampling noise).").format(
                      n=n, kl=(datasets.STACKED.n_classes - 1) / (2 * n)))
    C.image_grid(res["first"][:k], ncol=10, scale=2, key=f"mc_stacked_png_{i}",
                 download_name=f"stacked-samples-{info.id}-seed{seed}.png")
    st.caption(_("The first {k} samples · {share:.0%} of all {n:,} have three confidently read "
                 "digits").format(k=k, share=cov["confident_share"], n=n))
    return {"Model": info.kind_label, "kind": info.kind, "File": info.id,
            "Modes covered": cov["classes_covered"], "KL to uniform": round(cov["kl_to_uniform"], 3),
            "Largest mode share": f"{max(cov['counts']) / max(n, 1):.1%}", "Samples": n,
            "counts": cov["counts"]}


def stacked_verdict(rows: list[dict]) -> str | None:
    """The sentence the seminar should take away, written from the measured rows."""
    gan = next((r for r in rows if r["kind"] == "gan"), None)
    waes = [r for r in rows if r["kind"] in ("wae-mmd", "wae-gan")]
    if gan is None or not waes:
        return None
    best = max(waes, key=lambda r: (r["Modes covered"], -r["KL to uniform"]))
    if gan["Modes covered"] < best["Modes covered"]:
        return _("**The GAN's samples land in {gan:,} of the 1,000 modes (KL {gan_kl:.2f}); the "
                 "{wae}'s in {best:,} (KL {best_kl:.2f}).** Its encoder gives every training image a "
                 "code, so dropping a mode costs reconstruction error; the GAN's generator is never "
                 "asked to produce any particular image. The empty space in the GAN's map is what it "
                 "dropped.").format(gan=gan["Modes covered"], gan_kl=gan["KL to uniform"],
                                    wae=best["Model"], best=best["Modes covered"],
                                    best_kl=best["KL to uniform"])
    return _("In this run the GAN covers as many modes as the best WAE ({gan:,} vs {best:,}): "
             "collapse depends on the run and on the discriminator.").format(
               gan=gan["Modes covered"], best=best["Modes covered"])


def stacked_view(infos: list[CheckpointInfo], ds: ImageDataset, n: int, seed: int, k: int) -> None:
    """Stacked MNIST: 1,000 modes (the three channels' digits), judged channel by channel by the
    MNIST LeNet (``metrics.classify_stacked`` / ``metrics.stacked_mode_coverage``): per model the
    modes covered and KL, its samples in colour and a 10 x 100 map of the modes it hits."""
    if C.classifier_or_info(ds) is None:
        return
    rows = []
    what = _("Generating {n:,} samples, reading 3 digits each…").format(n=n)
    for i, (col, info) in _queued_columns(infos, what):
        with col, C.guarded(info.kind_label):
            rows.append(stacked_column(info, n, seed, min(k, n), i))
    verdict = stacked_verdict(rows)
    if verdict:
        st.markdown(verdict)
    st.markdown(_("##### The 1,000 modes, one map per model"))
    st.caption(_("Row: the red channel's digit; column: the green and blue digits; colour: how many "
                 "samples fell in the mode (log scale); blank: no sample."))
    for r in rows:
        modes = [{"red": m // 100, "green": m // 10 % 10, "blue": m % 10, "samples": c}
                 for m, c in enumerate(r["counts"])]  # mode 100 r + 10 g + b, as on the map
        export.chart(drawn.stacked_mode_map(tuple(r["counts"]), f"{r['Model']} · {r['File']}"),
                     f"mc_stacked_map_{r['File']}", modes, name=f"stacked-modes-{r['File']}-seed{seed}")
    if len(rows) > 1:
        table = [{k: v for k, v in r.items() if k not in ("kind", "counts")} for r in rows]
        st.dataframe(_shown(table), hide_index=True)
        export.csv_button(table, "mc_stacked_table_csv", f"stacked-modes-seed{seed}")
    bench = stacked.summary()
    if bench:
        st.caption(_("The benchmark: {summary}").format(summary=bench))


def main() -> None:
    st.title(_("Mode collapse"))
    ds = C.current_dataset()
    st.markdown(_("A GAN's generator can get away with producing a few convincing images: *the same "
                  "{item} again and again*. Here a classifier (LeNet, trained on {data}) labels many "
                  "samples of each model; a model that covers every mode has a flat histogram.").format(
                    item=_(ds.item), data=datasets.MNIST.label if ds.per_channel else ds.label))
    infos = C.selected_models()
    share.keep_in_url("mode-collapse", {"mc_n": share.choice(N_CHOICES),
                                        "mc_n_stacked": share.choice(STACKED_N_CHOICES),
                                        "mc_grid": share.choice(GRID_CHOICES)})
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    if ds.per_channel:  # 1,000 modes need thousands of samples to be hit at all
        n = c1.select_slider(_("Samples per model"), STACKED_N_CHOICES, value=10000, key="mc_n_stacked",
                             format_func=lambda v: f"{v:,}")
    else:
        n = c1.select_slider(_("Samples per model"), N_CHOICES, value=2000, key="mc_n",
                             format_func=lambda v: f"{v:,}")
    k = c2.select_slider(_("Samples in the grids"), GRID_CHOICES, value=100, key="mc_grid")
    c3.button(_("Resample"), key="mc_resample", on_click=C.bump_seed, icon=":material/casino:",
              help=_("Draw new z (next seed)"))
    seed = C.current_seed()
    if not C.require_models(infos):
        return
    (stacked_view if ds.per_channel else class_view)(infos, ds, n, seed, k)
    with st.expander(_("How coverage is measured"), icon=":material/functions:"):
        st.markdown(_("Each sample gets the classifier's most probable class. KL to the uniform "
                      "distribution over the {n:,} classes:").format(n=ds.n_classes))
        C.latex(metrics.stacked_mode_coverage if ds.per_channel else metrics.mode_coverage)
        st.caption(_("Seed {seed}. The same seed gives the same z for every model with the same "
                     "latent size.").format(seed=seed))


main()
