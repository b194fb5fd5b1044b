"""Results page: the precision / recall / density / coverage / KID columns and the
precision-vs-recall scatter, whose sentence is written from the numbers in results.json."""

from __future__ import annotations

import base64
import json

import numpy as np

from tests.app.support import RESULTS, open_page, score_tables, texts

# Made-up numbers, chosen so that the lowest precision and the lowest recall are two models that
# the fixture's kinds would not suggest: the sentence must follow the numbers, not the names.
FIDELITY = {
    "VAE": {"precision": 0.91, "recall": 0.42, "density": 1.07, "coverage": 0.80,
            "kid_mean": 40.5, "kid_std": 2.5},
    "GAN": {"precision": 0.55, "recall": 0.83, "density": 0.61, "coverage": 0.76,
            "kid_mean": 11.0, "kid_std": 1.5},
    "True data (MNIST test)": {"precision": 0.86, "recall": 0.88, "density": 0.95,
                               "coverage": 0.93, "kid_mean": 0.25, "kid_std": 0.5},
}


def values(a) -> list[float]:
    """A Plotly array: a list, or typed-array JSON {"dtype", "bdata"} (Plotly 6)."""
    if isinstance(a, dict):
        return np.frombuffer(base64.b64decode(a["bdata"]), dtype=a["dtype"]).tolist()
    return list(a)


def results_page_with(per_model: dict, monkeypatch, tmp_path, **top):
    """The Results page on the fixture's results.json with each row updated from ``per_model``
    (by model name) and ``top`` added at the top level."""
    res = {**json.loads(json.dumps(RESULTS)), **top}
    for r in res["rows"]:
        r.update(per_model[r["model"]])
    path = tmp_path / "results.json"
    path.write_text(json.dumps(res))
    monkeypatch.setenv("WAE_LAB_RESULTS", str(path))
    return open_page("results.py")


def test_results_fidelity_columns_and_scatter(app_env, monkeypatch, tmp_path):
    protocol = {"k_pr": 3, "k_dc": 5, "kid_subsets": 100, "kid_subset_size": 1000}
    at = results_page_with(FIDELITY, monkeypatch, tmp_path, fidelity=protocol)
    assert not at.exception
    df = score_tables(at)[0]
    assert list(df["Precision ↑"]) == ["0.910", "0.550", "0.860"]
    assert list(df["Recall ↑"]) == ["0.420", "0.830", "0.880"]
    assert df.loc[0, "Density"] == "1.070" and df.loc[2, "Coverage ↑"] == "0.930"
    assert list(df["KID ↓"]) == ["40.5 ± 2.5", "11 ± 1.5", "0.25 ± 0.5"]
    charts = at.get("plotly_chart")
    assert len(charts) == 4  # three bar charts and the scatter
    fig = json.loads(charts[-1].proto.spec)
    points = {t["name"]: (values(t["x"]), values(t["y"])) for t in fig["data"]}
    assert points["model"] == ([0.42, 0.83], [0.91, 0.55])
    assert points["real data"] == ([0.88], [0.86])
    assert fig["layout"]["xaxis"]["range"] == [0, 1] == fig["layout"]["yaxis"]["range"]
    caption = next(c for c in texts(at.caption) if "precision" in c.lower())
    assert "Lowest precision: GAN (0.55)" in caption and "lowest recall: VAE (0.42)" in caption
    assert "0.86 / 0.88" in caption
    assert any("Precision vs recall on LeNet features" in m for m in texts(at.markdown))


def test_results_without_fidelity_numbers_has_no_scatter(app_env):
    """An older results.json (no precision / recall): no scatter, dashes in the new columns."""
    at = open_page("results.py")
    assert not at.exception
    assert len(at.get("plotly_chart")) == 3
    df = score_tables(at)[0]
    assert set(df["Precision ↑"]) == {"—"} and set(df["KID ↓"]) == {"—"}


def test_results_class_kept_and_ex_post_columns(app_env, monkeypatch, tmp_path):
    """Issue 17's columns come from results.json as they are: class kept (MNIST test, non-MNIST
    uploads) and the ex-post GMM's FID and sharpness; the GAN (no encoder) shows dashes."""
    extra = {"VAE": {"class_kept_test": 0.9712, "class_kept_heldout": 0.915, "fid_lenet_gmm": 36.82,
                     "sharpness_gmm": 0.0688},
             "GAN": {"class_kept_test": None, "class_kept_heldout": None, "fid_lenet_gmm": None},
             "True data (MNIST test)": {"class_kept_test": 0.99, "class_kept_heldout": 0.982}}
    at = results_page_with(extra, monkeypatch, tmp_path)
    assert not at.exception
    df = score_tables(at)[0]
    assert list(df["Class kept, MNIST test ↑"]) == ["97.1%", "—", "99.0%"]
    assert list(df["Class kept, non-MNIST uploads ↑"]) == ["91.5%", "—", "98.2%"]
    assert list(df["FID (LeNet), ex-post GMM ↓"]) == ["36.82", "—", "—"]
    assert df.loc[0, "Sharpness, ex-post GMM ↑"] == "6.88e-02"
    assert any("Class kept: the share of reconstructions" in c for c in texts(at.caption))
