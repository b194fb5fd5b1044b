"""Results page: the Fashion-MNIST and Stacked-MNIST sections are read from results.json (the
numbers shown are the file's, whatever they are), and the Idea page quotes the Stacked-MNIST
benchmark from the same file."""

from __future__ import annotations

import json

from tests.app.conftest import RESULTS
from tests.app.test_pages import open_page, texts

STACKED = [
    {"model": "True data (Stacked MNIST train vs test)", "kind": "data", "n": 26000, "runs": 3,
     "spread_over": "draws of the training set", "modes_mean": 1000.0, "modes_std": 0.0,
     "kl_mean": 0.031, "kl_std": 0.001, "confident_share_mean": 0.95, "confident_share_std": 0.0,
     "fid_mean": 0.4, "fid_std": 0.01, "sharpness_mean": 0.18, "sharpness_std": 0.0},
    {"model": "WAE-MMD", "kind": "wae-mmd", "n": 26000, "runs": 3, "spread_over": "sampling seeds",
     "modes_mean": 987.0, "modes_std": 2.0, "kl_mean": 0.123, "kl_std": 0.004,
     "confident_share_mean": 0.5, "confident_share_std": 0.01, "fid_mean": 90.0, "fid_std": 1.0,
     "sharpness_mean": 0.05, "sharpness_std": 0.0, "steps": 7200, "train_seconds": 2100.0},
    {"model": "GAN", "kind": "gan", "n": 26000, "runs": 3, "spread_over": "training seeds",
     "modes_mean": 43.0, "modes_std": 11.0, "kl_mean": 5.43, "kl_std": 0.2,
     "confident_share_mean": 0.01, "confident_share_std": 0.0, "fid_mean": 900.0, "fid_std": 50.0,
     "sharpness_mean": 0.04, "sharpness_std": 0.0, "steps": 6000, "train_seconds": 2000.0},
]


def results_with_sections(tmp_path, monkeypatch):
    res = json.loads(json.dumps(RESULTS))
    res["stacked"] = STACKED
    res["fashion"] = {"n_samples": 1000, "classifier": {"test_accuracy": 0.9005},
                      "rows": [{**r, "model": r["model"] + " (Fashion)"} for r in res["rows"]]}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(res))
    monkeypatch.setenv("WAE_LAB_RESULTS", str(path))


def test_results_page_shows_the_fashion_and_stacked_tables(app_env, monkeypatch, tmp_path):
    results_with_sections(tmp_path, monkeypatch)
    at = open_page("results.py")
    assert not at.exception, at.exception
    frames = [d.value for d in at.dataframe]
    stacked = next(v for v in frames if "Modes covered (of 1,000)" in v.columns)
    assert list(stacked["Model"]) == [r["model"] for r in STACKED]
    assert list(stacked["Modes covered (of 1,000)"]) == ["1,000.0 ± 0.0", "987.0 ± 2.0", "43.0 ± 11.0"]
    assert list(stacked["KL to uniform"])[2] == "5.430 ± 0.200"
    assert list(stacked["Runs"])[2] == "3 training seeds"
    fashion = [v for v in frames if "Model" in v.columns
               and any(str(m).endswith("(Fashion)") for m in v["Model"])]
    assert len(fashion) == 1 and len(fashion[0]) == len(RESULTS["rows"])
    assert any("90.05%" in c for c in texts(at.caption))


def test_idea_page_quotes_the_stacked_benchmark(app_env, monkeypatch, tmp_path):
    results_with_sections(tmp_path, monkeypatch)
    at = open_page("idea.py")
    assert not at.exception, at.exception
    md = " ".join(texts(at.markdown))
    assert "GAN **43 ± 11** modes, KL 5.43 ± 0.20 (3 training seeds)" in md
    assert "WAE-MMD **987 ± 2** modes" in md and "26,000 samples" in md
