"""Results page: the Fashion-MNIST and Stacked-MNIST sections are read from results.json (the
numbers shown are the file's, whatever they are), and the Idea page quotes the Stacked-MNIST
benchmark from the same file."""

from __future__ import annotations

from tests.app.support import RESULTS, STACKED, open_page, results_with_sections, score_tables, texts


def test_results_page_shows_the_fashion_and_stacked_tables(app_env, monkeypatch, tmp_path):
    results_with_sections(tmp_path, monkeypatch)
    at = open_page("results.py")
    assert not at.exception, at.exception
    frames = score_tables(at)
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
