"""AppTest checks of export and share (issue 18, item 6): every Plotly chart has the mode bar's PNG
button and a **Download CSV** button whose file parses with the chart's columns; every table has
its CSV; a page opened with its controls in the URL comes up with those values, invalid values are
ignored (never an exception); the sidebar's "Copy link to this view" round-trips a view."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from app import export, share
from tests.app.support import APP_DIR, RESULTS, STACKED, open_page, results_with_sections, score_tables
from wae_core import live

# Charts that export their numbers in a CSV of another name (the latent maps: one CSV of every map).
CSV_ELSEWHERE = {"latent_plot_": "latent_csv"}


MEDIA: dict[str, bytes] = {}  # file id -> bytes of every media file AppTest stored
DEFERRED: dict[str, Any] = {}  # file id -> the callable of a button that writes its file on click


@pytest.fixture(autouse=True)
def media(monkeypatch):
    """Record what AppTest's in-memory media store gets (its runtime is gone after a run)."""
    load, defer = MemoryMediaFileStorage.load_and_get_id, MediaFileManager.add_deferred

    def recording(self, path_or_data, mimetype, kind, filename=None):  # noqa: ANN001, ANN202
        file_id = load(self, path_or_data, mimetype, kind, filename)
        MEDIA[file_id] = path_or_data
        return file_id

    def deferring(self, data_callable, *args, **kwargs):  # noqa: ANN001, ANN202
        file_id = defer(self, data_callable, *args, **kwargs)
        DEFERRED[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    monkeypatch.setattr(MediaFileManager, "add_deferred", deferring)
    yield
    MEDIA.clear()
    DEFERRED.clear()


def download(at: AppTest, key: str) -> bytes:
    """The bytes behind a download button (written now, as a click would, when it defers them)."""
    button = next(b for b in at.get("download_button") if b.key == key)
    if button.proto.HasField("deferred_file_id"):
        return DEFERRED[button.proto.deferred_file_id]()
    return MEDIA[button.proto.url.rsplit("/", 1)[-1].split(".")[0]]


def csv_of(at: AppTest, key: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(download(at, key)))


def assert_charts_export(at: AppTest) -> dict[str, dict]:
    """Every chart: a PNG button in its mode bar (named), and a CSV button (``<key>_csv``) unless
    its numbers are in a page-wide CSV; returns {chart key: its Plotly config}."""
    buttons = {b.key for b in at.get("download_button")}
    configs = {}
    for c in at.get("plotly_chart"):
        cfg = json.loads(c.proto.config)
        png = cfg.get("toImageButtonOptions") or {}
        assert png.get("format") == "png" and png.get("filename"), cfg
        assert cfg.get("displayModeBar") is not False, cfg
        key = next((b[:-4] for b in buttons
                    if b.endswith("_csv") and c.proto.id.endswith("-" + b[:-4])), None)
        elsewhere = next((v for k, v in CSV_ELSEWHERE.items() if k in c.proto.id), None)
        assert key or elsewhere in buttons, (c.proto.id, sorted(buttons))
        configs[key or c.proto.id] = cfg
    return configs


# --- the helpers ---------------------------------------------------------------------------------
def test_to_csv_of_rows_columns_and_frames():
    import numpy as np

    rows = [{"a": 1, "b": np.float32(0.5)}, {"a": 2, "c": "x"}]
    assert export.to_csv(rows).decode() == "a,b,c\n1,0.5,\n2,,x\n"
    padded = export.to_csv({"step": [1, 2, 3], "loss": [0.5, 0.25]}).decode()
    assert padded == "step,loss\n1,0.5\n2,0.25\n3,\n"
    assert export.to_csv(pd.DataFrame({"m": ["VAE"], "v": [1.5]})).decode() == "m,v\nVAE,1.5\n"
    assert export.labelled_rows({"GAN": {"step": [1, 2], "ot": [3.0, 2.0]}}, "run") == [
        {"run": "GAN", "step": 1, "ot": 3.0}, {"run": "GAN", "step": 2, "ot": 2.0}]


def test_png_config_and_file_names():
    cfg = export.png_config("mode bar/GAN · seed 3")
    assert cfg["toImageButtonOptions"] == {"format": "png", "filename": "mode-bar-GAN-seed-3", "scale": 2}
    assert cfg["modeBarButtons"] == [["toImage"]] and cfg["displaylogo"] is False
    assert "modeBarButtons" not in export.png_config("x", full=True)  # lasso and zoom stay
    assert export.file_name("../../etc/passwd", "csv") == "etc-passwd.csv"


@pytest.mark.parametrize(("param", "good", "bad"), [
    (share.choice([4, 6, 8]), {"6": 6}, ["5", "", "six", "6.0"]),
    (share.integer(0, 9), {"0": 0, "9": 9}, ["-1", "10", "1.5", "x", "9" * 400]),
    (share.number(-3, 3), {"-2.5": -2.5, "3": 3.0}, ["nan", "inf", "4", "1e400", "x"]),
    (share.flag(), {"1": True, "false": False}, ["2", "yes", ""]),
])
def test_params_parse_or_refuse(param, good, bad):
    for text, value in good.items():
        assert param.parse(text) == value
        assert param.parse(param.dump(value)) == value
    for text in bad:
        with pytest.raises((ValueError, TypeError, KeyError, OverflowError)):
            param.parse(text)


# --- CSV of every chart and table -----------------------------------------------------------------
def test_reconstructions_errors_csv(app_env):
    at = open_page("reconstruct.py")
    df = csv_of(at, "recon_test_mse_csv")
    assert list(df.columns) == ["image", "model", "mse"]
    assert len(df) == 3 * 8 and set(df.model) == {"mnist-vae", "mnist-wae-mmd", "mnist-wae-gan"}
    captions = [c.value for c in at.caption if c.value.startswith("MSE per image:")]
    first = [float(v) for v in captions[0].split(": ", 1)[1].split(" · ")]
    assert df[df.model == "mnist-vae"].mse.round(3).tolist() == first
    assert "recon_test_input_download" in {b.key for b in at.get("download_button")}


def test_samples_nearest_csv_and_pngs(app_env, small_train_set):
    at = open_page("samples.py", state={"samples_grid": 4, "samples_neighbours": True})
    assert not at.exception
    df = csv_of(at, "samples_neighbour_csv_0")
    assert list(df.columns) == ["sample (row.col)", "d1", "d2", "d3", "train #1", "train #2", "train #3"]
    assert len(df) == 16
    shown = at.dataframe[0].value
    assert (df["train #1"].to_numpy() == shown["train #1"].to_numpy()).all()
    buttons = {b.key for b in at.get("download_button")}
    assert {f"samples_nearest_png_0_{j}" for j in range(3)} | {"samples_closest_png_0"} <= buttons


def test_latent_maps_png_and_csv(app_env):
    at = open_page("latent.py", state={"latent_n": 300})
    configs = assert_charts_export(at)
    assert len(configs) == 3
    for cfg in configs.values():  # the full mode bar: lasso and box selection need it
        assert "modeBarButtons" not in cfg
        assert cfg["toImageButtonOptions"]["filename"].startswith("latent-PCA-")
    df = csv_of(at, "latent_csv")
    assert list(df.columns) == ["model", "kind", "x", "y", "label", "test_index"]


def test_toy_lab_curves_csv(app_env):
    at = AppTest.from_file(str(APP_DIR / "views" / "toy_lab.py"), default_timeout=120)
    at.run()
    at.button(key="toy_step").click().run()
    assert not at.exception, at.exception
    assert_charts_export(at)
    losses = csv_of(at, "toy_loss_1_csv")
    assert losses.columns[0] == "step" and len(losses.columns) > 1 and len(losses)
    scores = csv_of(at, "toy_metrics_csv")
    assert list(scores.columns) == ["run", "step", "modes_covered", "high_quality_share", "ot"]
    assert set(scores.run) == {"GAN", "WAE-MMD"}
    modes = csv_of(at, "toy_modes_0_csv")
    assert list(modes.columns) == ["mode", "high_quality_samples"] and len(modes) == 8
    buttons = {b.key for b in at.get("download_button")}
    assert {"toy_points_png_0", "toy_points_png_1", "toy_latent_png_1"} <= buttons
    live.get_hub().close(at.session_state["toy_run"])


def test_idea_figures_and_paper_table(app_env):
    at = open_page("idea.py")
    assert at.title[0].value.startswith("Wasserstein Auto-Encoders")
    assert set(assert_charts_export(at)) == {"idea_ot_ring", "idea_posteriors"}
    pairs = csv_of(at, "idea_ot_ring_csv")
    assert list(pairs.columns) == ["real_x", "real_y", "matched_x", "matched_y"] and len(pairs) == 40
    post = csv_of(at, "idea_posteriors_csv")
    assert list(post.columns) == ["panel", "digit", "z1", "z2"]  # no mnist-vae-z2 here: panel (b) only
    assert (post.panel == "b: WAE").sum() == 100 and set(post.digit) <= set(range(10))
    assert csv_of(at, "idea_paper_csv").FID.tolist() == [63, 55, 42, 2]
    buttons = {b.key for b in at.get("download_button")}
    assert {"idea_samples_png_mnist-vae", "idea_samples_png_mnist-wae-mmd", "idea_gan_sorted_png"} <= buttons


def test_idea_posterior_csv_has_both_panels(lab_env):
    post = csv_of(open_page("idea.py"), "idea_posteriors_csv")
    assert list(post.columns) == ["panel", "digit", "z1", "z2", "sigma1", "sigma2"]
    vae, wae = post[post.panel == "a: VAE"], post[post.panel == "b: WAE"]
    assert len(vae) == len(wae) == 100
    assert (vae.sigma1 > 0).all() and wae.sigma1.isna().all()


def test_mode_collapse_histograms_and_table(app_env):
    at = open_page("mode_collapse.py", state={"mc_n": 1000})
    assert len(assert_charts_export(at)) == 4
    hist = csv_of(at, "mc_hist_0_csv")
    assert list(hist.columns) == ["class", "samples"] and hist["class"].tolist() == list(range(10))
    assert hist.samples.sum() == 1000
    table = csv_of(at, "mc_table_csv")
    assert table.Model.tolist() == ["VAE", "WAE-MMD", "WAE-GAN", "GAN"]
    assert table["Classes covered"].tolist() == at.dataframe[0].value["Classes covered"].tolist()


def test_results_tables_and_charts(app_env):
    at = open_page("results.py")
    charts = assert_charts_export(at)
    assert set(charts) == {f"results_chart_{k}" for k in ("fid_lenet", "sharpness", "classes_covered")}
    fid = csv_of(at, "results_chart_fid_lenet_csv")
    assert list(fid.columns) == ["model", "value", "group"] and fid.value.tolist() == [12.5, 30.0, 0.4]
    table = csv_of(at, "results_table_csv")
    assert table.model.tolist() == ["VAE", "GAN", "True data (MNIST test)"]
    assert table.fid_lenet.tolist() == [12.5, 30.0, 0.4]  # numbers, not "12.50"
    assert csv_of(at, "results_toys_csv").modes_covered_mean.tolist() == [8.0]
    assert list(csv_of(at, "results_paper_csv").columns) == ["Algorithm", "FID", "Sharpness"]


def test_results_every_table_has_its_csv(app_env, monkeypatch, tmp_path):
    results_with_sections(tmp_path, monkeypatch)
    at = open_page("results.py")
    assert not at.exception, at.exception
    csvs = {b.key for b in at.get("download_button") if b.key.endswith("_csv")}
    tables = {d.proto.id.rsplit("-", 1)[-1] for d in at.dataframe}
    assert len(at.dataframe) == 2 and len(score_tables(at)) == 3  # toys, the paper's; results,
    # Fashion-MNIST, Stacked MNIST
    assert {"results_table_csv", "results_toys_csv", "results_fashion_csv", "results_stacked_csv",
            "results_paper_csv"} <= csvs, (tables, csvs)
    fashion = csv_of(at, "results_fashion_csv")
    assert fashion.model.tolist() == [r["model"] + " (Fashion)" for r in RESULTS["rows"]]
    stacked = csv_of(at, "results_stacked_csv")
    assert stacked.modes_mean.tolist() == [r["modes_mean"] for r in STACKED]


# --- controls from the URL ---------------------------------------------------------------------
# (page, its controls in the URL, how to read a widget back: (kind, key) -> expected value)
RESTORE = [
    ("samples", {"samples_grid": "6"}, {("selectbox", "samples_grid"): 6}),
    ("reconstructions", {"recon_n": "4"}, {("selectbox", "recon_n"): 4}),
    ("latent", {"latent_n": "300", "latent_codes": "mean"},
     {("selectbox", "latent_n"): 300, ("radio", "latent_codes"): "mean"}),
    ("interpolation", {"interp_source": "test", "interp_a": "5", "interp_b": "9", "interp_steps": "4",
                       "interp_grid_n": "6"},
     {("number_input", "interp_a"): 5, ("number_input", "interp_b"): 9, ("slider", "interp_steps"): 4,
      ("slider", "interp_grid_n"): 6}),
    ("explore", {"explore_index": "12", "explore_dz_1": "1.5", "explore_arith_x": "3", "explore_arith_a": "2",
                 "explore_arith_b": "7"},
     {("number_input", "explore_index"): 12, ("slider", "explore_dz_1"): 1.5,
      ("number_input", "explore_arith_x"): 3, ("selectbox", "explore_arith_a"): 2,
      ("selectbox", "explore_arith_b"): 7}),
    ("toy-lab", {"toy_wae_kind": "wae-gan", "toy_lam": "3", "toy_z_dim": "4", "toy_kernel": "rbf"},
     {("radio", "toy_wae_kind"): "wae-gan", ("select_slider", "toy_lam"): 3.0,
      ("select_slider", "toy_z_dim"): 4, ("radio", "toy_kernel"): "rbf"}),
    ("mode-collapse", {"mc_n": "1000", "mc_grid": "50"},
     {("select_slider", "mc_n"): 1000, ("select_slider", "mc_grid"): 50}),
    ("train", {"train_kind": "gan", "train_epochs": "3", "train_subset": "2000", "train_z": "16"},
     {("selectbox", "train_kind"): "gan", ("number_input", "train_epochs"): 3,
      ("number_input", "train_subset"): 2000, ("selectbox", "train_z"): 16}),
]
# The same controls with values the widgets do not take: each keeps its default.
INVALID = [
    ("samples", {"samples_grid": "7", "samples_neighbours": "maybe"}, {("selectbox", "samples_grid"): 8}),
    ("reconstructions", {"recon_n": "1e9", "recon_draw": "-4"}, {("selectbox", "recon_n"): 8}),
    ("latent", {"latent_method": "UMAP", "latent_n": ""}, {("radio", "latent_method"): "PCA"}),
    ("interpolation", {"interp_source": "x", "interp_a": "99999", "interp_b": "-1", "interp_steps": "nan"},
     {("radio", "interp_source"): "test", ("number_input", "interp_a"): 0, ("number_input", "interp_b"): 1,
      ("slider", "interp_steps"): 8}),
    ("explore", {"explore_index": "x", "explore_dz_0": "inf", "explore_dz_1": "9", "explore_direction": "-3"},
     {("number_input", "explore_index"): 0, ("slider", "explore_dz_0"): 0.0,
      ("slider", "explore_dz_1"): 0.0}),
    ("toy-lab", {"toy_data": "moon", "toy_lam": "-1", "toy_kernel_scales": "1 + x", "toy_batch": "1"},
     {("radio", "toy_data"): "ring"}),
    ("mode-collapse", {"mc_n": "999", "mc_grid": "-"}, {("select_slider", "mc_n"): 2000}),
    ("train", {"train_kind": "diffusion", "train_epochs": "500", "train_z": "3"}, {}),
]


def same(text: str | None, value: object) -> bool:
    """The URL's text of a widget's value (``1.5`` / ``1.50``, ``8``)."""
    if text is None:
        return False
    try:
        return text == str(value) or float(text) == float(value)  # type: ignore[arg-type]
    except ValueError:
        return False


def widget_value(at: AppTest, kind: str, key: str):
    return getattr(at, kind)(key=key).value


def open_view(query: dict[str, str]) -> AppTest:
    at = open_page(None, query)
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(("page", "query", "want"), RESTORE, ids=[p for p, _, _ in RESTORE])
def test_a_page_comes_up_with_its_controls_from_the_url(app_env, page, query, want):
    at = open_view({"page": page, "seed": "3", **query})
    assert at.number_input(key="sidebar_seed").value == 3
    for (kind, key), value in want.items():
        assert widget_value(at, kind, key) == value, key
    for k, v in query.items():  # written back as read
        assert same(at.query_params.get(k), v), k


@pytest.mark.parametrize(("page", "query", "want"), INVALID, ids=[p for p, _, _ in INVALID])
def test_invalid_url_values_are_ignored(app_env, page, query, want):
    default = open_view({"page": page})
    at = open_view({"page": page, **query})
    assert not at.error, [e.value for e in at.error]
    for key in {k for _, k in want} | set(query):
        for kind in ("selectbox", "radio", "number_input", "slider", "select_slider", "toggle"):
            try:
                now, before = widget_value(at, kind, key), widget_value(default, kind, key)
            except KeyError:
                continue
            assert now == before, key  # the widget's default, not the URL's value
    for (kind, key), value in want.items():
        assert widget_value(at, kind, key) == value, key
        assert same(at.query_params.get(key), value), key  # the default written back
    for k, v in query.items():  # the bad value left the URL (or was replaced by the widget's)
        assert at.query_params.get(k) != v, k


# --- the link -----------------------------------------------------------------------------------
def share_link(at: AppTest) -> str:
    codes = [c.value for c in at.sidebar.get("code")]
    assert len(codes) == 1, codes
    return codes[0]


def test_copy_link_restores_the_view(app_env):
    at = open_view({"page": "interpolation"})
    at.number_input(key="sidebar_seed").set_value(5).run()
    at.radio(key="interp_source").set_value("random").run()
    at.slider(key="interp_steps").set_value(11).run()
    link = share_link(at)
    assert link.startswith("?")  # no browser here: a relative link (st.context.url is None)
    query = dict(parse_qsl(urlsplit(link).query))
    assert {"page": "interpolation", "seed": "5", "interp_source": "random", "interp_steps": "11"}.items() \
        <= query.items()
    assert "interp_a" not in query  # the test-image inputs are not drawn for random z
    again = open_view(query)
    assert again.title[0].value == "Interpolation"
    assert again.number_input(key="sidebar_seed").value == 5
    assert again.radio(key="interp_source").value == "random"
    assert again.slider(key="interp_steps").value == 11
    assert share_link(again) == link


def test_link_drops_the_controls_of_the_page_left(app_env):
    at = open_view({"page": "samples", "samples_grid": "4"})
    assert "samples_grid=4" in share_link(at)
    at.switch_page("views/reconstruct.py").run()
    link = share_link(at)
    assert "recon_n=8" in link and "samples_grid" not in link and "page=reconstructions" in link
