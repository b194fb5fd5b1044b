"""The app's Korean / English catalogues (issue 33, ``app/i18n.py``, ``locale/``, ``docs/glossary.md``).

* every entry of every ``locale/ko/LC_MESSAGES/*.po`` has a Korean translation (non-empty, not
  fuzzy) that uses no placeholder its msgid lacks;
* every string the app marks for translation (``_``, ``N_``, ``ngettext``: Babel's extraction with
  ``babel.cfg``) is in a catalogue, reported per source file;
* no user-facing string literal in ``app/`` bypasses the catalogue: an AST scan of the calls that
  put text on the screen (``st.*`` display functions and widget labels, ``help=`` / ``label=`` /
  ``caption=`` / ``placeholder=``, the app's own wrappers that show a text, Plotly titles, axis
  titles, trace names and hover texts) whose text is a plain string or f-string literal not
  wrapped in ``_()``, with a short allow-list (formulas, model names, symbols, file names).
  One test case per file (``-k toy_lab``), so each translator sees their own files;
* the language choice's pure parts (browser language, URL values) and ``language()`` outside a
  Streamlit run (English, no "missing ScriptRunContext" warning).
"""

from __future__ import annotations

import ast
import logging
import re
import unicodedata
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from app import PAGE_SPECS, i18n

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
CATALOGUES = sorted((ROOT / "locale" / "ko" / "LC_MESSAGES").glob("*.po"))
APP_FILES = sorted(APP.rglob("*.py"))
_IDS = [str(p.relative_to(ROOT)) for p in APP_FILES]

# --- what puts text on the screen ---------------------------------------------------------------
# Streamlit's display functions and widgets: the text is the first positional argument.
DISPLAY = {
    "title", "header", "subheader", "markdown", "caption", "write", "text", "info", "warning",
    "error", "success", "exception_text", "button", "checkbox", "radio", "selectbox", "multiselect",
    "slider", "select_slider", "number_input", "text_input", "text_area", "file_uploader", "metric",
    "tabs", "expander", "toggle", "download_button", "spinner", "toast", "segmented_control", "pills",
    "popover", "form_submit_button", "link_button", "page_link", "status", "color_picker",
    "date_input", "time_input", "camera_input", "chat_input", "feedback",
}
# The app's wrappers that show a text: name -> the positional arguments that are text.
WRAPPERS = {"guarded": (0,), "show_error": (1,), "missing_note": (1,), "no_encoder_note": (1,),
            "csv_button": (3,), "png_button": (3,), "user_digit_pair": (0,), "Page": ()}
# Keywords whose value users read (Streamlit and the app's wrappers; Plotly's where practical).
TEXT_KEYWORDS = {"label", "help", "caption", "placeholder", "what", "body", "title",
                 "annotation_text", "hovertemplate", "legend_title_text", "xaxis_title",
                 "yaxis_title", "subplot_titles", "name", "text"}
PLOTLY_CALLS = {"update_layout", "update_xaxes", "update_yaxes", "add_hline", "add_vline",
                "add_annotation", "Scatter", "Scattergl", "Bar", "Heatmap", "Contour", "Histogram",
                "Box", "Violin", "make_subplots", "Figure", "_layout"}
PLOTLY_DICT_KEYS = {"title", "text"}
# Calls whose result is translated (or is no text for users).
TRANSLATORS = {"_", "ngettext", "N_", "tr", "gettext"}
# Allowed in an untranslated literal (glossary: formulas, model names, symbols, file names stay).
ALLOWED_WORDS = {"log", "nats", "mnist", "safetensors", "png", "csv", "et", "al", "lenet", "opentsne",
                 "pythae", "ms", "px"}
ALLOWED_PHRASES = ("Fashion-MNIST", "Stacked MNIST", "Wasserstein Auto-Encoders", "WAE Lab",
                   "Tolstikhin", "Bousquet", "Gelly", "Schölkopf")
# Receivers whose .error() / .text() / ... is no screen text (a CLI's argparse, a logger).
NOT_SCREEN = {"ap", "parser", "argparse", "logger", "logging", "log", "sys", "warnings"}
_PLACEHOLDER = re.compile(r"%?\{[^{}]*\}|<[^<>]*>|`[^`]*`|\$[^$]*\$|https?://\S+|:material/\w+:")
_TOKEN = re.compile(r"[^\s()\[\],;:!?*·—–=+/|<>\"“”‘’…]+")
_WORD = re.compile(r"[A-Za-z]{2,}(?:['’-][A-Za-z]+)*")


def user_text(text: str) -> str | None:
    """The English a literal shows (None when it shows none): placeholders, code spans, LaTeX, HTML
    tags, icons removed; acronyms (VAE, WAE-MMD, FID, P_Z), identifiers and file names
    (``z_dim``, ``mnist-vae.safetensors``), numbers and symbols are not words."""
    text = _PLACEHOLDER.sub(" ", text)
    for phrase in ALLOWED_PHRASES:
        text = text.replace(phrase, " ")
    words = []
    for token in _TOKEN.findall(text):
        token = token.strip(".'’-")
        if not _WORD.fullmatch(token) or token.isupper() or token.lower() in ALLOWED_WORDS:
            continue
        if "-" in token and all(part.isupper() or part.isdigit() for part in token.split("-")):
            continue
        words.append(token)
    return " ".join(words) if words else None


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literals(node: ast.expr) -> list[str]:
    """The literal text ``node`` would show, not counting what goes through a translator: a str
    constant, an f-string's constant parts (its fields as ``{}``), both branches of ``a if c else
    b``, the parts of ``+``, the items of a list / tuple."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literals(node.left) + _literals(node.right)
    if isinstance(node, ast.List | ast.Tuple):
        return [t for e in node.elts for t in _literals(e)]
    return []  # a name, a call (_(...), str.format on a translated text...), a subscript...


def bypasses(path: Path) -> list[str]:
    """``line: 'text'`` of every user-facing literal in ``path`` that is not translated."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []

    def check(node: ast.expr) -> None:
        for text in _literals(node):
            words = user_text(text)
            if words:
                found.append((node.lineno, text))

    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        name = _name(call.func)
        if name in TRANSLATORS or name is None:
            continue
        if isinstance(call.func, ast.Attribute) and _name(call.func.value) in NOT_SCREEN:
            continue
        if name in DISPLAY and call.args:
            check(call.args[0])
        for i in WRAPPERS.get(name, ()):
            if i < len(call.args):
                check(call.args[i])
        shows_text = name in DISPLAY or name in WRAPPERS or name in PLOTLY_CALLS
        if not shows_text:
            continue
        for kw in call.keywords:
            if kw.arg in TEXT_KEYWORDS:
                if kw.arg in ("name", "text") and name not in PLOTLY_CALLS:
                    continue  # (file_name=, a widget's own name: not text)
                check(kw.value)
            elif name in PLOTLY_CALLS and isinstance(kw.value, ast.Dict):
                for k, v in zip(kw.value.keys, kw.value.values):
                    if isinstance(k, ast.Constant) and k.value in PLOTLY_DICT_KEYS and v is not None:
                        check(v)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    return [f"{shown}:{line}: {text!r}" for line, text in sorted(found)]


# --- the catalogues ------------------------------------------------------------------------------
def read(po: Path):  # noqa: ANN201 - a babel Catalog
    with po.open("rb") as f:
        return read_po(f, locale="ko")


def _fields(text: str) -> set[str]:
    return set(re.findall(r"%?\{[^{}]*\}", text))


def _emphasis_ok(text: str) -> bool:
    """Whether every ``*`` / ``**`` pair of ``text`` renders as emphasis (CommonMark's flanking
    rules): an opener must be left-flanking, a closer right-flanking. In Korean a closer after
    punctuation and before a particle (``**모드 붕괴(mode collapse)**가``) is not, and the
    asterisks show."""
    def punct(c: str) -> bool:
        return unicodedata.category(c)[0] in "PS"

    text = re.sub(r"%?\{[^{}]*\}", "x0", text)  # a placeholder is filled with a name or number
    opened: dict[int, bool] = {}
    for m in re.finditer(r"(?<![*\\])\*{1,2}(?!\*)", text):
        i, n = m.start(), len(m.group())
        before = text[i - 1] if i else " "
        after = text[i + n] if i + n < len(text) else " "
        left = not after.isspace() and (not punct(after) or before.isspace() or punct(before))
        right = not before.isspace() and (not punct(before) or after.isspace() or punct(after))
        if opened.get(n):
            if not right:
                return False
            opened[n] = False
        else:
            if not left:
                return False
            opened[n] = True
    return not any(opened.values())


def test_there_is_a_korean_catalogue():
    assert CATALOGUES, "no locale/ko/LC_MESSAGES/*.po"
    assert (ROOT / "locale" / "ko" / "LC_MESSAGES" / "messages.po") in CATALOGUES


@pytest.mark.parametrize("po", CATALOGUES, ids=[p.name for p in CATALOGUES])
def test_every_entry_has_a_korean_translation(po: Path):
    untranslated, fuzzy, bad_fields, bad_markdown = [], [], [], []
    for m in read(po):
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, tuple | list) else (m.string,)
        ids = m.id if isinstance(m.id, tuple | list) else (m.id,)
        if not all(s and s.strip() for s in strings):
            untranslated.append(ids[0])
        elif m.fuzzy:
            fuzzy.append(ids[0])
        elif not all(_fields(s) <= set().union(*(_fields(i) for i in ids)) for s in strings):
            bad_fields.append(ids[0])  # a {name} the code does not pass: a KeyError at run time
        elif _emphasis_ok(ids[0]) and not all(_emphasis_ok(s) for s in strings):
            bad_markdown.append(strings[0])
    assert not untranslated, f"{po.name}: untranslated: {untranslated}"
    assert not fuzzy, f"{po.name}: fuzzy: {fuzzy}"
    assert not bad_fields, f"{po.name}: placeholders not in the msgid: {bad_fields}"
    assert not bad_markdown, f"{po.name}: **bold** / *italic* that does not render: {bad_markdown}"


def _catalogue_ids() -> set:
    ids = set()
    for po in CATALOGUES:
        for m in read(po):
            if m.id and not m.fuzzy:
                ids.add(m.id if isinstance(m.id, str) else tuple(m.id))
    return ids


@pytest.mark.parametrize("path", APP_FILES, ids=_IDS)
def test_every_marked_string_is_in_a_catalogue(path: Path):
    known = _catalogue_ids()
    missing = []
    for lineno, msg, _comments, _context in extract_from_file("python", str(path), keywords=DEFAULT_KEYWORDS):
        key = msg if isinstance(msg, str) else tuple(msg)
        if key not in known:
            missing.append(f"{path.relative_to(ROOT)}:{lineno}: {key!r}")
    assert not missing, "marked for translation but in no locale/ko/LC_MESSAGES/*.po " \
                        "(run `make i18n` and translate):\n" + "\n".join(missing)


@pytest.mark.parametrize("path", APP_FILES, ids=_IDS)
def test_no_user_facing_literal_bypasses_the_catalogue(path: Path):
    found = bypasses(path)
    assert not found, "user-facing text not wrapped in _() (or N_ where defined, _ where shown):\n" \
                      + "\n".join(found)


def test_the_scan_sees_what_it_should(tmp_path: Path):
    """The scanner on a sample (it must flag the untranslated texts, and only those)."""
    src = '''
import streamlit as st
from app.i18n import _
st.title("Samples")
st.title(_("Samples"))
c1.button("Resample", help="Draw new z")
st.caption(f"Seed {seed}")
st.caption(_("Seed {seed}").format(seed=seed))
st.metric("MMD(Q_Z, P_Z) · WAE-MMD", "0.1")
st.markdown(f"#### {info.kind_label}")
st.error(f"{name}: {message}")
fig.update_xaxes(title="predicted class")
fig.update_yaxes(title="z₂")
fig.update_layout(yaxis={"title": "modes covered"})
st.download_button(_("Download CSV"), data, file_name="latent-seed0.csv")
C.guarded("Loading test images")
st.tabs(["Upload", _("Draw")])
'''
    sample = tmp_path / "sample.py"
    sample.write_text(src)
    lines = [f.split(": ", 1)[1] for f in bypasses(sample)]
    assert sorted(lines) == sorted(["'Samples'", "'Resample'", "'Draw new z'", "'Seed {}'",
                                    "'predicted class'", "'modes covered'", "'Loading test images'",
                                    "'Upload'"])


def test_emphasis_check():
    assert _emphasis_ok("**모드 붕괴**(mode collapse)가 일어납니다: *같은 숫자*만")
    assert not _emphasis_ok("**모드 붕괴(mode collapse)**가 일어납니다")
    assert _emphasis_ok("이미지당 **24.02 nats**, 사후")
    assert _emphasis_ok("Sharp samples, but **no encoder** (no latent code)")


# --- the app's terms -----------------------------------------------------------------------------
def test_page_titles_and_data_words_are_translated():
    ko = i18n.translations("ko")
    for _file, title, _icon, _url in PAGE_SPECS:
        assert ko.gettext(title) != title, title
    from app import datasets
    from wae_core.data.datasets import FASHION_CLASSES

    assert datasets.FASHION_CLASS_MSGIDS == FASHION_CLASSES
    assert ko.gettext("Trouser") != "Trouser"
    assert ko.ngettext("{n} epoch", "{n} epochs", 3).format(n=3) == "3 에폭"


def test_glossary_exists_and_names_the_page_titles():
    text = (ROOT / "docs" / "glossary.md").read_text()
    ko = i18n.translations("ko")
    for _file, title, _icon, _url in PAGE_SPECS:
        assert f"| {title} | {ko.gettext(title)} |" in text, title


# --- choosing the language -----------------------------------------------------------------------
@pytest.mark.parametrize(("header", "lang"), [
    ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
    ("ko", "ko"),
    ("en-US,en;q=0.9,ko;q=0.8", "en"),
    ("en;q=0.5,ko;q=0.9", "ko"),
    ("fr-FR,fr;q=0.9", "en"),
    ("ja,ko;q=0.9", "en"),
    ("*", None),
    ("", None),
    (None, None),
])
def test_accept_language(header, lang):
    assert i18n.from_accept_language(header) == lang


@pytest.mark.parametrize(("tag", "code"), [("ko-KR", "ko"), ("ko_KR.UTF-8", "ko"), ("KO", "ko"),
                                           ("en-GB", "en"), ("en", "en"), ("fr", None), ("", None),
                                           (None, None), (3, None)])
def test_normalize(tag, code):
    assert i18n.normalize(tag) == code


def test_language_outside_a_run_is_english_without_warnings(caplog):
    caplog.set_level(logging.WARNING)
    assert i18n.language() == "en"
    assert i18n._("Samples") == "Samples"
    assert i18n.bound()("Samples") == "Samples"
    assert "ScriptRunContext" not in caplog.text


# --- the upload ingest's messages, shown through app.user_images.preprocess_message ------------
def _upload_messages() -> list[str]:
    """Notes and errors the upload ingest really gives (not copies of its wording)."""
    import io

    from PIL import Image

    from wae_core.data.ingest import preprocess_bytes
    from wae_core.data.uploads import ImageError

    def png(img: Image.Image) -> bytes:
        buf = io.BytesIO()
        img.save(buf, "PNG")
        return buf.getvalue()

    dark_on_light = Image.new("L", (64, 64), 255)
    dark_on_light.paste(0, (20, 10, 40, 54))
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    clear.paste((0, 0, 0, 255), (20, 10, 40, 54))
    ruled = Image.new("L", (200, 200), 245)  # a dark digit on lined paper: its rules removed
    for y in range(12, 200, 25):
        ruled.paste(200, (0, y, 200, y + 2))
    ruled.paste(20, (90, 40, 104, 160))
    out: list[str] = []
    for data in (png(dark_on_light), png(clear), png(ruled), b"", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                 b"just some text, not an image"):
        try:
            out.extend(preprocess_bytes(data).notes)
        except ImageError as e:
            out.append(str(e))
    return out


def test_upload_messages_are_translated(monkeypatch):
    from app import user_images

    messages = _upload_messages()
    assert len(messages) >= 5, messages
    # English: unchanged
    assert [user_images.preprocess_message(m) for m in messages] == messages
    # Korean: every one known (no English left), numbers and names kept
    monkeypatch.setattr(i18n, "language", lambda: "ko")
    for m in messages:
        ko = user_images.preprocess_message(m)
        assert ko != m and re.search("[가-힣]", ko), m
        assert set(re.findall(r"\d+|PNG|JPEG|SVG", m)) <= set(re.findall(r"\d+|PNG|JPEG|SVG", ko)), (m, ko)


def test_room_messages_are_translated(monkeypatch):
    """What the hub tells a student who typed a wrong code, or the code of an ended run: English
    as the hub wrote it, Korean with the code and the number kept."""
    from app.live_frames import translated
    from wae_core.live import hub as H

    hub = H.Hub()
    messages = []
    for call in (lambda: H.normalize_code("K7"), lambda: hub.find("ZZZZZZ")):
        try:
            call()
        except H.RoomError as e:
            messages.append(str(e))
    assert len(messages) == 2, messages
    assert [translated(m) for m in messages] == messages
    monkeypatch.setattr(i18n, "language", lambda: "ko")
    for m in messages:
        ko = translated(m)
        assert ko != m and re.search("[가-힣]", ko), m
        assert set(re.findall(r"\d+|ZZZZZZ", m)) <= set(re.findall(r"\d+|ZZZZZZ", ko)), (m, ko)
