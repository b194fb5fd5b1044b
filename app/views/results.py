"""Results: the evaluation table from results/results.json, with bar charts and a precision-vs-recall
scatter."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from app import cache, catalog, class_kept, export
from app import components as C
from app.catalog import Ref
from app.i18n import N_, _, per_language
from wae_core.evaluation import metrics
from wae_core.evaluation.lenet import FEATURE_DIM

# (key in results.json, column title (translated on screen), format)
COLUMNS = (
    ("model", N_("Model"), None),
    ("kind", N_("Kind"), None),
    ("fid_lenet", "FID (LeNet) ↓", ".2f"),
    ("sharpness", N_("Sharpness ↑"), ".2e"),
    ("classes_covered", N_("Classes covered"), "d"),
    ("kl_uniform", N_("KL to uniform ↓"), ".3f"),
    ("confident_share", N_("Confident share"), ".1%"),
    ("mmd_qz_pz", "MMD²(Q_Z, P_Z)", ".2e"),
    ("recon_mse", N_("Recon. MSE"), ".4f"),
    ("recon_sharpness", N_("Recon. sharpness"), ".2e"),
    # the real-data row: the share of the inputs themselves the LeNet reads (the ceiling)
    ("class_kept_test", N_("Class kept, MNIST test ↑"), ".1%"),
    ("class_kept_heldout", N_("Class kept, non-MNIST uploads ↑"), ".1%"),
    ("fid_lenet_gmm", N_("FID (LeNet), ex-post GMM ↓"), ".2f"),
    ("sharpness_gmm", N_("Sharpness, ex-post GMM ↑"), ".2e"),
    ("precision", N_("Precision ↑"), ".3f"),
    ("recall", N_("Recall ↑"), ".3f"),
    ("density", N_("Density"), ".3f"),
    ("coverage", N_("Coverage ↑"), ".3f"),
    ("kid_mean", "KID ↓", "kid"),  # "mean ± std" with kid_std
    ("checkpoint", N_("Checkpoint"), None),
)
CHARTS = (("fid_lenet", N_("FID on LeNet features (lower is better)")),
          ("sharpness", N_("Sharpness (higher is sharper)")),
          ("classes_covered", N_("Digit classes covered (of 10)")))
PAPER = pd.DataFrame(C.PAPER_ROWS, columns=["Algorithm", "FID", "Sharpness"])  # its CSV keeps these
# What a Stacked-MNIST row's spread is over (wae_core.evaluation.stacked's words), shown translated.
SPREAD_OVER = {"training seeds": N_("{n} training seeds"), "sampling seeds": N_("{n} sampling seeds"),
               "draws of the training set": N_("{n} draws of the training set")}
GROUPS = (N_("model"), N_("real data"))  # the charts' groups (their data keep the English names)


def uploads_section(rows: list[dict[str, Any]]) -> None:
    """Does an upload come back as the same digit? Class kept on each held-out set, by family."""
    tables = [(title, class_kept.family_table(rows, key)) for key, title in class_kept.SETS]
    tables = [(title, df) for title, df in tables if df is not None]
    if not tables:
        return
    st.markdown(_("**Does an upload come back as the same digit?** The share of reconstructions the "
                  "LeNet reads as the uploaded digit, by kind of digit (on the real-data row: the "
                  "share of the uploads themselves it reads)."))
    for title, df in tables:  # one under the other: side by side, set 2's families do not fit
        st.caption(_(title))
        st.table(df.set_index(df.columns[0]))


def cell(value: Any, spec: str | None) -> str:
    if spec is None:
        return C.DASH if value is None or value == "" else str(value)
    if spec == "d" and isinstance(value, int | float) and not C.is_missing(value):
        return str(int(value))
    return C.fmt(value, spec)


def kid_cell(r: dict[str, Any]) -> str:
    m, s = r.get("kid_mean"), r.get("kid_std")
    return C.fmt(m, ".3g") + ("" if C.is_missing(m) or C.is_missing(s) else f" ± {C.fmt(s, '.2g')}")


def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Formatted strings, "—" for missing / null / NaN."""
    return pd.DataFrame([{_(title): kid_cell(r) if spec == "kid" else cell(r.get(k), spec)
                          for k, title, spec in COLUMNS} for r in rows])


def pr_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One point per row that has both precision and recall."""
    out = []
    for r in rows:
        p, rc = r.get("precision"), r.get("recall")
        if all(isinstance(v, int | float) and not C.is_missing(v) for v in (p, rc)):
            out.append({"model": str(r.get("model", "?")), "precision": float(p), "recall": float(rc),
                        "group": "real data" if r.get("kind") == "data" else "model"})
    return pd.DataFrame(out)


def label_position(recall: float, precision: float, df: pd.DataFrame, near: float = 0.06) -> str:
    """"bottom center" for a point with another one just above it (their labels would overlap)."""
    above = ((df.recall - recall).abs() < near) & (df.precision > precision) & (
        df.precision - precision < near)
    return "bottom center" if above.any() else "top center"


def pr_sentence(df: pd.DataFrame) -> str:
    """What the scatter shows, from the measured numbers: the models lowest in precision and in
    recall, and the real-data reference."""
    models, real = df[df.group == "model"], df[df.group == "real data"]
    if models.empty:
        return ""
    lo_p = models.loc[models.precision.idxmin()]
    lo_r = models.loc[models.recall.idxmin()]
    ref = None if real.empty else real.iloc[0]
    # whole sentences (a translation cannot be glued together from pieces)
    if lo_p.model == lo_r.model:
        text = (_("{model} is lowest on both precision ({p:.2f}: samples off the real digits) and recall "
                  "({r:.2f}: real digits it never makes).") if ref is None else
                _("{model} is lowest on both precision ({p:.2f}: samples off the real digits) and recall "
                  "({r:.2f}: real digits it never makes); real training images, what a perfect model "
                  "would match at this sample size, score {real_p:.2f} / {real_r:.2f}."))
    else:
        text = (_("Lowest precision: {p_model} ({p:.2f}), the most samples off the real digits; lowest "
                  "recall: {r_model} ({r:.2f}), the most real digits it never makes.") if ref is None else
                _("Lowest precision: {p_model} ({p:.2f}), the most samples off the real digits; lowest "
                  "recall: {r_model} ({r:.2f}), the most real digits it never makes; real training "
                  "images, what a perfect model would match at this sample size, score "
                  "{real_p:.2f} / {real_r:.2f}."))
    return text.format(model=lo_p.model, p_model=lo_p.model, r_model=lo_r.model, p=float(lo_p.precision),
                       r=float(lo_r.recall), real_p=float(ref.precision) if ref is not None else 0.0,
                       real_r=float(ref.recall) if ref is not None else 0.0)


def chart_frame(rows: list[dict[str, Any]], key: str) -> pd.DataFrame:
    out = []
    for r in rows:
        v = r.get(key)
        if isinstance(v, int | float) and not C.is_missing(v):
            out.append({"model": str(r.get("model", "?")), "value": float(v),
                        "group": "real data" if r.get("kind") == "data" else "model"})
    return pd.DataFrame(out)


# The charts, built once per version of results.json and language for every session (``ref`` is
# that version: the rows are read through cache.load_results; per_language: the session's language,
# which the figures' titles are in); building a Plotly Express figure was most of this page's rerun.
# Never update a figure returned from here: it is shared.
def _rows() -> list[dict[str, Any]]:
    res = cache.load_results() or {}
    return [r for r in res.get("rows") or [] if isinstance(r, dict)]


def _group_names(fig: Any) -> None:
    """The legend's names of the groups in the session's language."""
    fig.for_each_trace(lambda t: t.update(name=_(t.name)) if t.name in GROUPS else None)


@per_language
@st.cache_resource(show_spinner=False, max_entries=16)
def bar_chart(ref: Ref, key: str, lang: str) -> tuple[pd.DataFrame, Any]:
    """The bar chart of one column of the table: (its numbers, the figure or None without any)."""
    df = chart_frame(_rows(), key)
    if df.empty:
        return df, None
    title = next((_(t) for k, t in CHARTS if k == key), key)
    fig = px.bar(df, x="model", y="value", color="group", text_auto=".3g",
                 color_discrete_map={"model": "#4C78A8", "real data": "#72B7B2"},
                 labels={"model": _("Model"), "value": title, "group": _("Group")})
    _group_names(fig)
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis_title=None, yaxis_title=None, showlegend=False)
    return df, fig


@per_language
@st.cache_resource(show_spinner=False, max_entries=4)
def pr_chart(ref: Ref, lang: str) -> tuple[pd.DataFrame, Any]:
    """The precision-vs-recall scatter: (its points, the figure or None without any)."""
    pr = pr_frame(_rows())
    if pr.empty:
        return pr, None
    fig = px.scatter(pr, x="recall", y="precision", color="group", text="model",
                     symbol="group", color_discrete_map={"model": "#4C78A8", "real data": "#72B7B2"},
                     labels={"model": _("Model"), "group": _("Group")})
    fig.update_traces(marker={"size": 12}, cliponaxis=False)
    for tr in fig.data:  # a label below a point that sits just under another one
        tr.textposition = [label_position(x, y, pr) for x, y in zip(tr.x, tr.y)]
    _group_names(fig)
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"range": [0, 1], "title": _("Recall (real images the model makes)")},
                      yaxis={"range": [0, 1], "title": _("Precision (samples on real data)")},
                      legend_title_text=None)
    return pr, fig


def toy_table(toys: list[dict[str, Any]]) -> pd.DataFrame:
    def pm(r: dict[str, Any], k: str, spec: str) -> str:
        m, s = r.get(f"{k}_mean"), r.get(f"{k}_std")
        return C.fmt(m, spec) + ("" if C.is_missing(s) else f" ± {C.fmt(s, spec)}")

    return pd.DataFrame([{
        _("Toy"): cell(r.get("toy"), None), _("Model"): cell(r.get("model"), None),
        _("Kind"): cell(r.get("kind"), None), _("Seeds"): cell(r.get("seeds"), "d"),
        _("Modes covered"): pm(r, "modes_covered", ".1f") + f" / {cell(r.get('n_modes'), 'd')}",
        _("High-quality share"): pm(r, "hq_share", ".1%"),
        # decoded from a Gaussian mixture fitted to Q_Z instead of P_Z (wae_core.evaluation.expost)
        _("Ex-post: modes"): (pm(r, "gmm_modes_covered", ".1f") + f" / {cell(r.get('n_modes'), 'd')}"
                              if "gmm_hq_share_mean" in r else C.DASH),
        _("Ex-post: high quality"): pm(r, "gmm_hq_share", ".1%") if "gmm_hq_share_mean" in r else C.DASH,
    } for r in toys])


def score_table(df: pd.DataFrame, key: str) -> None:
    """A score table as a projector shows it whole: one column per model, one row per score (a row
    per model would be 20 columns wide and scroll sideways), a table whose headers wrap (a
    dataframe's would not: "True data (Stacked MNIST train vs test)"); its CSV keeps a row per
    model."""
    with st.container(key=key):
        st.table(df.set_index(_("Model")).T.rename_axis(_("Score")))


def stacked_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The Stacked-MNIST benchmark (``wae_core.evaluation.stacked``): mean ± std over its runs."""
    def pm(r: dict[str, Any], k: str, spec: str) -> str:
        return f"{C.fmt(r.get(k + '_mean'), spec)} ± {C.fmt(r.get(k + '_std'), spec)}"

    def runs(r: dict[str, Any]) -> str:
        n, over = cell(r.get("runs"), "d"), r.get("spread_over", "")
        return _(SPREAD_OVER[over]).format(n=n) if over in SPREAD_OVER else f"{n} {over}"

    return pd.DataFrame([{
        _("Model"): cell(r.get("model"), None), _("Modes covered (of 1,000)"): pm(r, "modes", ",.1f"),
        _("KL to uniform"): pm(r, "kl", ".3f"), _("All 3 digits confident"): pm(r, "confident_share", ".1%"),
        "FID (LeNet ×3)": pm(r, "fid", ".1f"), _("Sharpness"): pm(r, "sharpness", ".4f"),
        _("Train steps"): cell(r.get("steps"), ",d"),
        _("Train seconds"): cell(r.get("train_seconds"), ",.0f"),
        _("Runs"): runs(r),
    } for r in rows])


def stacked_section(rows: list[dict[str, Any]]) -> None:
    st.subheader(_("Stacked MNIST: 1,000 modes"))
    n = rows[0].get("n")
    st.caption(_("Three MNIST digits as the R, G, B channels; {n} samples per run, each "
                 "channel read by the MNIST LeNet; a mode (digit triple) is covered by one sample "
                 "(PacGAN's protocol). FID on the three channels' LeNet features side by side (384-d), "
                 "not Inception. Mean ± std over the runs in the last column.").format(n=cell(n, ",d")))
    score_table(stacked_table(rows), "results_stacked")
    export.csv_button(rows, "results_stacked_csv", "results-stacked-mnist")


def main() -> None:
    st.title(_("Results"))
    try:
        res = cache.load_results()
    except Exception as e:  # noqa: BLE001
        C.show_error(e, "results.json")
        return
    if res is None:
        st.info(_("No results yet: `{path}` does not exist. Make it with "
                  "`python -m wae_core.evaluate` (it scores every checkpoint and writes "
                  "`results/results.json` and `results/results.md`).").format(path=catalog.results_path()),
                icon="ℹ️")
        return
    rows = [r for r in res.get("rows") or [] if isinstance(r, dict)]
    ref = catalog.results_ref()
    acc = (res.get("classifier") or {}).get("test_accuracy")
    st.caption(_("Produced by `{command}` on {date} with {n} samples per model; classifier test "
                 "accuracy {accuracy}.").format(command=res.get("command") or "python -m wae_core.evaluate",
                                                date=res.get("generated") or C.DASH,
                                                n=cell(res.get("n_samples"), "d"),
                                                accuracy=C.fmt(acc, ".2%")))
    st.markdown(_("**FID here is computed on LeNet features** (the {dim}-d features of our MNIST "
                  "classifier), **not Inception**: compare numbers only within this table, not with "
                  "the paper's.").format(dim=FEATURE_DIM))
    if not rows:
        st.warning(_("results.json has no rows."))
    else:
        score_table(table(rows), "results_table")
        if any(r.get("class_kept_heldout") is not None for r in rows):
            st.caption(_("Class kept: the share of reconstructions G(E(x)) the LeNet reads as the "
                         "input's digit, on MNIST test images and on `data/heldout-digits.npz` (printed, "
                         "drawn, scanned and photographed digits through the app's upload path); on the "
                         "real-data row, the share of the inputs themselves it reads. Ex-post GMM: the same "
                         "decoder fed codes from a Gaussian mixture fitted to Q_Z instead of P_Z (RAE, "
                         "Ghosh et al. 2020)."))
        export.csv_button(rows, "results_table_csv", "results")  # the numbers, not their formatting
        uploads_section(rows)
        cols = st.columns(len(CHARTS))
        for col, (key, title) in zip(cols, CHARTS):
            df, fig = bar_chart(ref, key)
            with col:
                st.markdown(f"**{_(title)}**")
                if fig is None:
                    st.caption(C.DASH)
                    continue
                export.chart(fig, f"results_chart_{key}", df, name=f"results-{key}", full_mode_bar=True,
                             width="stretch")
        pr, fig = pr_chart(ref)
        if fig is not None:
            fid = res.get("fidelity") or {}
            st.markdown(_("**Precision vs recall on LeNet features** (k = {k}, "
                          "Kynkäänniemi et al. 2019)").format(k=fid.get("k_pr", 3)))
            export.chart(fig, "results_pr_scatter", pr, name="results-precision-recall", full_mode_bar=True,
                         width="stretch")
            st.caption(pr_sentence(pr))
    toys = [t for t in res.get("toys") or [] if isinstance(t, dict)]
    if toys:
        st.subheader(_("2-D toys: mode coverage"))
        st.caption(_("A sample is high quality within {stds:g} standard deviations of its nearest mode; "
                     "a mode is covered when at least one high-quality sample lands on it. Mean ± std "
                     "over seeds. Ex-post: the same decoder fed codes from a Gaussian mixture fitted to "
                     "Q_Z instead of P_Z (RAE): the gap to P_Z is prior mass where no data point was "
                     "encoded.").format(stds=metrics.HIGH_QUALITY_STDS))
        st.dataframe(toy_table(toys), hide_index=True, width="stretch", key="results_toys")
        export.csv_button(toys, "results_toys_csv", "results-toys")
    fashion = res.get("fashion") or {}
    fashion_rows = [r for r in fashion.get("rows") or [] if isinstance(r, dict)]
    if fashion_rows:
        st.subheader("Fashion-MNIST")
        acc = (fashion.get("classifier") or {}).get("test_accuracy")
        st.caption(_("{n} samples per model, scored on the features of a LeNet trained on "
                     "Fashion-MNIST (test accuracy {accuracy}): not comparable with the MNIST numbers "
                     "above.").format(n=cell(fashion.get("n_samples"), "d"), accuracy=C.fmt(acc, ".2%")))
        score_table(table(fashion_rows), "results_fashion")
        export.csv_button(fashion_rows, "results_fashion_csv", "results-fashion-mnist")
    stacked = [r for r in res.get("stacked") or [] if isinstance(r, dict)]
    if stacked:
        stacked_section(stacked)
    st.download_button(_("Download results.json"), lambda: json.dumps(res, indent=2).encode(),
                       file_name="results.json", mime="application/json", key="results_download",
                       icon=":material/download:", on_click="ignore")  # written on click only
    with st.expander(_("The paper's numbers (CelebA 64×64, Inception FID)")):
        shown = PAPER.rename(columns={"Algorithm": _("Algorithm"), "Sharpness": _("Sharpness")})
        shown.iloc[:, 0] = [_("True data") if a == "True data" else a for a in PAPER["Algorithm"]]
        st.dataframe(shown, hide_index=True)
        export.csv_button(PAPER, "results_paper_csv", "paper-celeba")
        st.caption(_("Tolstikhin et al., ICLR 2018, as in the seminar deck. Different data and FID "
                     "network: only the ordering is comparable."))


main()
