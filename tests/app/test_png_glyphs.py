"""The live page's PNGs are drawn on the server: in Korean, every character of their legends must
have a glyph in the font they are drawn with (a missing one would be drawn as a box)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from app import figures, i18n

# Every legend the server draws into a PNG (app.figures.points_png, latent_png)
LEGENDS = ("real", "generated", "P_Z (prior)", "Q_Z (codes)")
NO_SUCH_CHARACTER = "\U0010fffd"  # a private-use code point no font has: its box is .notdef


def drawn(text: str, font) -> np.ndarray:  # noqa: ANN001
    img = Image.new("L", (40, 30), 0)
    ImageDraw.Draw(img).text((4, 4), text, fill=255, font=font)
    return np.asarray(img)


def test_every_korean_legend_character_has_a_glyph():
    ko = i18n.translations("ko")
    texts = [ko.gettext(t) for t in LEGENDS]
    assert any(any("가" <= c <= "힣" for c in t) for t in texts), texts  # translated
    font = figures.legend_font()
    box = drawn(NO_SUCH_CHARACTER, font)
    missing = sorted({c for t in texts for c in t
                      if not c.isspace() and np.array_equal(drawn(c, font), box)})
    assert not missing, f"drawn as a box (no glyph in {getattr(font, 'path', 'the default font')}): {missing}"
