"""Every page in both languages (issue 33), on the tiny fixture checkpoints (``conftest.py``):

* each page renders in English and in Korean with no exception;
* in Korean no English sentence is left on the page: the text of every element (titles,
  markdown, captions, alerts, metric and widget labels, options, help texts, tab and expander
  labels, image captions, table headers, the Plotly charts' titles, axis titles, legends and
  hover texts) is scanned for runs of three or more English words, outside an allow-list of
  names (authors, the paper's title, data sets) and of formulas, code and file names;
* the language choice: ``?lang=`` wins and stays in the URL (and in the sidebar's link), the
  sidebar's switch changes the language in place (same page, same widget values), English
  without a browser language (AppTest has none).

A page is one test case (``-k mode_collapse``), so a failure names the page and the English it
still shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from app import PAGE_SPECS

torch.set_num_threads(1)

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")
TIMEOUT = 180
PAGES = [spec[0] for spec in PAGE_SPECS]
# the smallest settings of the heavier pages (as tests/app/test_datasets.py)
LIGHT = {"latent_n": 300, "mc_n": 1000, "mc_n_stacked": 5000, "mc_grid": 50, "samples_grid": 4,
         "recon_n": 4}

# Proto fields whose strings users read; LaTeX and code blocks are formulas / code (not scanned).
TEXT_FIELDS = {"body", "label", "help", "placeholder", "caption", "options", "title", "text",
               "page_name", "default_text", "tooltip", "name"}
SKIP_MESSAGES = {"Code", "Exception", "Html"}  # code and links; exceptions fail the test anyway; CSS

# Allowed English in a Korean page: names, the paper, formulas, code, file names (glossary rules).
ALLOWED_PHRASES = (
    "Wasserstein Auto-Encoders", "Wasserstein Auto-Encoder", "Tolstikhin, Bousquet, Gelly, Schölkopf",
    "Tolstikhin et al.", "Ghosh et al.", "et al.", "Stacked MNIST", "Fashion-MNIST",
    "maximum mean discrepancy", "True data (MNIST test)",
)
_CODE_SPAN = re.compile(r"`[^`]*`|\$\$?[^$]*\$\$?|https?://\S+")
_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
_EDGE = "()[]{}*_,.:;!?\"'“”‘’…·—–/|<>"


def english_runs(text: str, min_words: int = 3) -> list[str]:
    """Runs of ``min_words`` or more English words in ``text`` (code spans, LaTeX, URLs and the
    allow-list removed first); a word is letters only (file names, identifiers like ``z_dim``
    and numbers end a run)."""
    for phrase in ALLOWED_PHRASES:
        text = text.replace(phrase, " ")
    text = _CODE_SPAN.sub(" ", text)
    runs, run = [], []
    for token in text.split():
        core = token.strip(_EDGE)
        if core and _WORD.fullmatch(core) and not core.isupper():  # (acronyms: VAE, FID, PNG)
            run.append(core)
            if token[-1:] in ".:;!?" and token != core:  # a sentence ends: the run too
                runs.append(run)
                run = []
        else:
            runs.append(run)
            run = []
    runs.append(run)
    return [" ".join(r) for r in runs if len(r) >= min_words]


def _strings(msg, field: str | None = None) -> Iterator[str]:  # noqa: ANN001 - a protobuf message
    """Strings of ``msg``'s user-facing fields (:data:`TEXT_FIELDS`), recursively."""
    if type(msg).__name__ in SKIP_MESSAGES:
        return
    if type(msg).__name__ == "Markdown" and msg.element_type == msg.Type.LATEX:
        return
    for fd, value in msg.ListFields():
        repeated = not isinstance(value, str | bytes) and not hasattr(value, "ListFields") \
            and hasattr(value, "__iter__")
        values = value if repeated else [value]
        for v in values:
            if isinstance(v, str):
                if fd.name in TEXT_FIELDS:
                    yield v
            elif hasattr(v, "ListFields"):
                yield from _strings(v, fd.name)


def _plotly_strings(spec: str) -> Iterator[str]:
    """A Plotly figure's titles, axis titles, annotations, trace names and hover texts."""
    fig = json.loads(spec)
    layout = fig.get("layout", {})

    def title(t) -> Iterator[str]:  # noqa: ANN001
        if isinstance(t, dict):
            t = t.get("text")
        if isinstance(t, str):
            yield t

    yield from title(layout.get("title"))
    for k, v in layout.items():
        if re.fullmatch(r"[xy]axis\d*", k) and isinstance(v, dict):
            yield from title(v.get("title"))
    yield from title((layout.get("legend") or {}).get("title"))
    for a in layout.get("annotations") or []:
        yield from title(a.get("text"))
    for trace in fig.get("data", []):
        for k in ("name", "hovertemplate"):
            if isinstance(trace.get(k), str):
                yield re.sub(r"%\{[^}]*\}|<[^>]*>", " ", trace[k])


def rendered_texts(at: AppTest) -> list[str]:
    """Everything users read on the page and in the sidebar (after the last run)."""
    out: list[str] = []

    def walk(node) -> None:  # noqa: ANN001
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            name = type(proto).__name__
            if name == "PlotlyChart":
                out.extend(_plotly_strings(proto.spec))
            elif name == "Arrow" or name == "Dataframe":
                pass  # headers below
            else:
                out.extend(_strings(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    for df in at.dataframe:
        out.extend(str(c) for c in df.value.columns)
    return out


def open_app(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(page: str, lang: str) -> AppTest:
    at = open_app({"lang": lang})
    for k, v in LIGHT.items():
        at.session_state[k] = v
    at.switch_page(f"views/{page}").run()
    assert not at.exception, (page, at.exception)
    return at


# --- the scanner itself ----------------------------------------------------------------------
def test_english_runs_finds_sentences_not_names():
    assert english_runs("샘플을 뽑습니다. Choose one or more models 여기") == ["Choose one or more models"]
    assert english_runs("**Copy link to this view**") == ["Copy link to this view"]
    assert english_runs("VAE · mnist-vae.safetensors · z_dim 8 · 1 에폭") == []
    assert english_runs("Wasserstein Auto-Encoders: 핵심 아이디어") == []
    assert english_runs("`python -m wae_core.train --recipe mnist-wae-mmd` 로 학습하세요") == []
    assert english_runs("WAE-MMD: 커널 (MMD)") == []
    assert english_runs("최대 평균 불일치(maximum mean discrepancy, MMD)") == []


# --- every page in both languages ------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES, ids=[p.removesuffix(".py") for p in PAGES])
def test_page_renders_in_english_and_korean(app_env, page):
    en = open_page(page, "en")
    assert en.query_params["lang"] == "en"
    ko = open_page(page, "ko")
    assert ko.query_params["lang"] == "ko"
    assert ko.session_state["wae_lang"] == "ko"
    texts = rendered_texts(ko)
    assert any(re.search("[가-힣]", t) for t in texts), page  # the page is in Korean at all
    english = sorted({run for t in texts for run in english_runs(t)})
    assert not english, f"{page} in Korean still shows English: {english}"


# --- choosing the language -------------------------------------------------------------------
def test_english_without_a_browser_language(app_env):
    at = open_app({})
    assert at.session_state["wae_lang"] == "en"
    assert at.query_params["lang"] == "en"
    assert at.title[0].value == "Welcome to WAE Lab"


def test_url_language_wins_and_stays_in_the_link(app_env):
    at = open_app({"lang": "ko", "page": "samples"})
    assert at.title[0].value == "샘플"
    assert at.selectbox(key="samples_grid").label == "격자"
    link = at.sidebar.get("code")[0].value if at.sidebar.get("code") else ""
    assert "lang=ko" in link, link
    # an invalid value is ignored: the session keeps its language
    at.query_params["lang"] = "xx"
    at.run()
    assert at.session_state["wae_lang"] == "ko" and at.query_params["lang"] == "ko"


def test_switch_keeps_the_page_and_its_widget_state(app_env):
    at = open_app({"page": "samples"})
    at.selectbox(key="samples_grid").set_value(4).run()
    at.number_input(key="sidebar_seed").set_value(5).run()
    assert at.title[0].value == "Samples"
    switch = at.segmented_control(key="sidebar_lang")
    assert switch.options == ["한국어", "English"] and switch.value == "en"
    switch.set_value("ko").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "샘플"
    assert at.segmented_control(key="sidebar_lang").value == "ko"
    assert at.selectbox(key="samples_grid").value == 4
    assert at.number_input(key="sidebar_seed").value == 5
    assert at.query_params["page"] == "samples" and at.query_params["lang"] == "ko"
    # and back: the URL, which wins, follows the switch
    at.segmented_control(key="sidebar_lang").set_value("en").run()
    assert at.title[0].value == "Samples" and at.query_params["lang"] == "en"
    assert at.selectbox(key="samples_grid").value == 4
