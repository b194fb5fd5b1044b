"""Results: the evaluation table from results/results.json, with bar charts and a precision-vs-recall
scatter."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import plotly.express as px
import streamlit as st

from app import cache, catalog, export
from app import components as C
from app.catalog import Ref
from wae_core import metrics
from wae_core.classifier import FEATURE_DIM

# (key in results.json, column title, format)
COLUMNS = (
    ("model", "Model", None),
    ("kind", "Kind", None),
    ("fid_lenet", "FID (LeNet) ↓", ".2f"),
    ("sharpness", "Sharpness ↑", ".2e"),
    ("classes_covered", "Classes covered", "d"),
    ("kl_uniform", "KL to uniform ↓", ".3f"),
    ("confident_share", "Confident share", ".1%"),
    ("mmd_qz_pz", "MMD²(Q_Z, P_Z)", ".2e"),
    ("recon_mse", "Recon. MSE", ".4f"),
    ("recon_sharpness", "Recon. sharpness", ".2e"),
    # the real-data row: the share of the inputs themselves the LeNet reads (the ceiling)
    ("class_kept_test", "Class kept, MNIST test ↑", ".1%"),
    ("class_kept_heldout", "Class kept, non-MNIST uploads ↑", ".1%"),
    ("fid_lenet_gmm", "FID (LeNet), ex-post GMM ↓", ".2f"),
    ("sharpness_gmm", "Sharpness, ex-post GMM ↑", ".2e"),
    ("precision", "Precision ↑", ".3f"),
    ("recall", "Recall ↑", ".3f"),
    ("density", "Density", ".3f"),
    ("coverage", "Coverage ↑", ".3f"),
    ("kid_mean", "KID ↓", "kid"),  # "mean ± std" with kid_std
    ("checkpoint", "Checkpoint", None),
)
CHARTS = (("fid_lenet", "FID on LeNet features (lower is better)"),
          ("sharpness", "Sharpness (higher is sharper)"),
          ("classes_covered", "Digit classes covered (of 10)"))
PAPER = pd.DataFrame(C.PAPER_ROWS, columns=["Algorithm", "FID", "Sharpness"])


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
    return pd.DataFrame([{title: kid_cell(r) if spec == "kid" else cell(r.get(k), spec)
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
    if lo_p.model == lo_r.model:
        text = (f"{lo_p.model} is lowest on both precision ({lo_p.precision:.2f}: samples off the real "
                f"digits) and recall ({lo_r.recall:.2f}: real digits it never makes)")
    else:
        text = (f"Lowest precision: {lo_p.model} ({lo_p.precision:.2f}), the most samples off the real "
                f"digits; lowest recall: {lo_r.model} ({lo_r.recall:.2f}), the most real digits it "
                "never makes")
    if not real.empty:
        ref = real.iloc[0]
        text += (f"; real training images, what a perfect model would match at this sample size, "
                 f"score {ref.precision:.2f} / {ref.recall:.2f}")
    return text + "."


def chart_frame(rows: list[dict[str, Any]], key: str) -> pd.DataFrame:
    out = []
    for r in rows:
        v = r.get(key)
        if isinstance(v, int | float) and not C.is_missing(v):
            out.append({"model": str(r.get("model", "?")), "value": float(v),
                        "group": "real data" if r.get("kind") == "data" else "model"})
    return pd.DataFrame(out)


# The charts, built once per version of results.json for every session (``ref`` is that
# version: the rows are read through cache.load_results); building a Plotly Express figure was
# most of this page's rerun. Never update a figure returned from here: it is shared.
def _rows() -> list[dict[str, Any]]:
    res = cache.load_results() or {}
    return [r for r in res.get("rows") or [] if isinstance(r, dict)]


@st.cache_resource(show_spinner=False, max_entries=8)
def bar_chart(ref: Ref, key: str) -> tuple[pd.DataFrame, Any]:
    """The bar chart of one column of the table: (its numbers, the figure or None without any)."""
    df = chart_frame(_rows(), key)
    if df.empty:
        return df, None
    fig = px.bar(df, x="model", y="value", color="group", text_auto=".3g",
                 color_discrete_map={"model": "#4C78A8", "real data": "#72B7B2"})
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis_title=None, yaxis_title=None, showlegend=False)
    return df, fig


@st.cache_resource(show_spinner=False, max_entries=4)
def pr_chart(ref: Ref) -> tuple[pd.DataFrame, Any]:
    """The precision-vs-recall scatter: (its points, the figure or None without any)."""
    pr = pr_frame(_rows())
    if pr.empty:
        return pr, None
    fig = px.scatter(pr, x="recall", y="precision", color="group", text="model",
                     symbol="group", color_discrete_map={"model": "#4C78A8", "real data": "#72B7B2"})
    fig.update_traces(marker={"size": 12}, cliponaxis=False)
    for tr in fig.data:  # a label below a point that sits just under another one
        tr.textposition = [label_position(x, y, pr) for x, y in zip(tr.x, tr.y)]
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"range": [0, 1], "title": "Recall (real images the model makes)"},
                      yaxis={"range": [0, 1], "title": "Precision (samples on real data)"},
                      legend_title_text=None)
    return pr, fig


def toy_table(toys: list[dict[str, Any]]) -> pd.DataFrame:
    def pm(r: dict[str, Any], k: str, spec: str) -> str:
        m, s = r.get(f"{k}_mean"), r.get(f"{k}_std")
        return C.fmt(m, spec) + ("" if C.is_missing(s) else f" ± {C.fmt(s, spec)}")

    return pd.DataFrame([{
        "Toy": cell(r.get("toy"), None), "Model": cell(r.get("model"), None),
        "Kind": cell(r.get("kind"), None), "Seeds": cell(r.get("seeds"), "d"),
        "Modes covered": pm(r, "modes_covered", ".1f") + f" / {cell(r.get('n_modes'), 'd')}",
        "High-quality share": pm(r, "hq_share", ".1%"),
        # decoded from a Gaussian mixture fitted to Q_Z instead of P_Z (wae_core.expost)
        "Ex-post: modes": (pm(r, "gmm_modes_covered", ".1f") + f" / {cell(r.get('n_modes'), 'd')}"
                           if "gmm_hq_share_mean" in r else C.DASH),
        "Ex-post: high quality": pm(r, "gmm_hq_share", ".1%") if "gmm_hq_share_mean" in r else C.DASH,
    } for r in toys])


def stacked_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The Stacked-MNIST benchmark (``wae_core.stacked_eval``): mean ± std over its runs."""
    def pm(r: dict[str, Any], k: str, spec: str) -> str:
        return f"{C.fmt(r.get(k + '_mean'), spec)} ± {C.fmt(r.get(k + '_std'), spec)}"

    return pd.DataFrame([{
        "Model": cell(r.get("model"), None), "Modes covered (of 1,000)": pm(r, "modes", ",.1f"),
        "KL to uniform": pm(r, "kl", ".3f"), "All 3 digits confident": pm(r, "confident_share", ".1%"),
        "FID (LeNet ×3)": pm(r, "fid", ".1f"), "Sharpness": pm(r, "sharpness", ".4f"),
        "Train steps": cell(r.get("steps"), ",d"), "Train seconds": cell(r.get("train_seconds"), ",.0f"),
        "Runs": f"{cell(r.get('runs'), 'd')} {r.get('spread_over', '')}",
    } for r in rows])


def stacked_section(rows: list[dict[str, Any]]) -> None:
    st.subheader("Stacked MNIST: 1,000 modes")
    n = rows[0].get("n")
    st.caption(f"Three MNIST digits as the R, G, B channels; {cell(n, ',d')} samples per run, each "
               "channel read by the MNIST LeNet; a mode (digit triple) is covered by one sample "
               "(PacGAN's protocol). FID on the three channels' LeNet features side by side (384-d), "
               "not Inception. Mean ± std over the runs in the last column.")
    st.dataframe(stacked_table(rows), hide_index=True, width="stretch", key="results_stacked")
    export.csv_button(rows, "results_stacked_csv", "results-stacked-mnist")


def main() -> None:
    st.title("Results")
    try:
        res = cache.load_results()
    except Exception as e:  # noqa: BLE001
        C.show_error(e, "results.json")
        return
    if res is None:
        st.info(f"No results yet: `{catalog.results_path()}` does not exist. Make it with "
                "`python -m wae_core.evaluate` (it scores every checkpoint and writes "
                "`results/results.json` and `results/results.md`).", icon="ℹ️")
        return
    rows = [r for r in res.get("rows") or [] if isinstance(r, dict)]
    ref = catalog.results_ref()
    acc = (res.get("classifier") or {}).get("test_accuracy")
    st.caption(f"Produced by `{res.get('command') or 'python -m wae_core.evaluate'}` on "
               f"{res.get('generated') or C.DASH} with {cell(res.get('n_samples'), 'd')} samples per "
               f"model; classifier test accuracy {C.fmt(acc, '.2%')}.")
    st.markdown(f"**FID here is computed on LeNet features** (the {FEATURE_DIM}-d features of our MNIST "
                "classifier), **not Inception**: compare numbers only within this table, not with "
                "the paper's.")
    if not rows:
        st.warning("results.json has no rows.")
    else:
        st.dataframe(table(rows), hide_index=True, width="stretch", key="results_table")
        if any(r.get("class_kept_heldout") is not None for r in rows):
            st.caption("Class kept: the share of reconstructions G(E(x)) the LeNet reads as the input's "
                       "digit, on MNIST test images and on `data/heldout-digits.npz` (printed, drawn, "
                       "scanned and photographed digits through the app's upload path); on the real-data "
                       "row, the share of the inputs themselves it reads. Ex-post GMM: the same decoder fed "
                       "codes from a Gaussian mixture fitted to Q_Z instead of P_Z (RAE, Ghosh et al. 2020).")
        export.csv_button(rows, "results_table_csv", "results")  # the numbers, not their formatting
        cols = st.columns(len(CHARTS))
        for col, (key, title) in zip(cols, CHARTS):
            df, fig = bar_chart(ref, key)
            with col:
                st.markdown(f"**{title}**")
                if fig is None:
                    st.caption(C.DASH)
                    continue
                export.chart(fig, f"results_chart_{key}", df, name=f"results-{key}", full_mode_bar=True,
                             width="stretch")
        pr, fig = pr_chart(ref)
        if fig is not None:
            fid = res.get("fidelity") or {}
            st.markdown(f"**Precision vs recall on LeNet features** (k = {fid.get('k_pr', 3)}, "
                        "Kynkäänniemi et al. 2019)")
            export.chart(fig, "results_pr_scatter", pr, name="results-precision-recall", full_mode_bar=True,
                         width="stretch")
            st.caption(pr_sentence(pr))
    toys = [t for t in res.get("toys") or [] if isinstance(t, dict)]
    if toys:
        st.subheader("2-D toys: mode coverage")
        st.caption(f"A sample is high quality within {metrics.HIGH_QUALITY_STDS:g} standard deviations "
                   "of its nearest mode; a mode "
                   "is covered when at least one high-quality sample lands on it. Mean ± std over seeds. "
                   "Ex-post: the same decoder fed codes from a Gaussian mixture fitted to Q_Z instead "
                   "of P_Z (RAE): the gap to P_Z is prior mass where no data point was encoded.")
        st.dataframe(toy_table(toys), hide_index=True, width="stretch", key="results_toys")
        export.csv_button(toys, "results_toys_csv", "results-toys")
    fashion = res.get("fashion") or {}
    fashion_rows = [r for r in fashion.get("rows") or [] if isinstance(r, dict)]
    if fashion_rows:
        st.subheader("Fashion-MNIST")
        acc = (fashion.get("classifier") or {}).get("test_accuracy")
        st.caption(f"{cell(fashion.get('n_samples'), 'd')} samples per model, scored on the features of "
                   f"a LeNet trained on Fashion-MNIST (test accuracy {C.fmt(acc, '.2%')}): not "
                   "comparable with the MNIST numbers above.")
        st.dataframe(table(fashion_rows), hide_index=True, width="stretch", key="results_fashion")
        export.csv_button(fashion_rows, "results_fashion_csv", "results-fashion-mnist")
    stacked = [r for r in res.get("stacked") or [] if isinstance(r, dict)]
    if stacked:
        stacked_section(stacked)
    st.download_button("Download results.json", json.dumps(res, indent=2).encode(),
                       file_name="results.json", mime="application/json", key="results_download",
                       icon=":material/download:")
    with st.expander("The paper's numbers (CelebA 64×64, Inception FID)"):
        st.dataframe(PAPER, hide_index=True)
        export.csv_button(PAPER, "results_paper_csv", "paper-celeba")
        st.caption("Tolstikhin et al., ICLR 2018, as in the seminar deck. Different data and FID network: "
                   "only the ordering is comparable.")


main()
