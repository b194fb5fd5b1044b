"""What the app's pages say, read as text (pure functions; ``tests/unit/test_load_test.py``): the
live page's step line, room code and queue message, metric columns, refusals."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# The live page's contract: "**Step 1,234** · 55 steps/s per model" (the rate only while it runs).
STEP_RE = re.compile(r"\*\*Step ([\d,]+)\*\*(?:\s*·\s*([\d,]+(?:\.\d+)?) steps/s per model)?")
ROOM_LINK_RE = re.compile(r"room=([A-Z2-9]{6})(?![A-Za-z0-9])")
ROOM_TEXT_RE = re.compile(r"Room code\W*([A-Z2-9]{6})(?![A-Za-z0-9])")
# "Queued: position 2 of 3 · training starts in about 45 s" (a minute estimate is read too)
QUEUE_RE = re.compile(r"Queued: position (\d+) of (\d+)"
                      r"(?:\s*·\s*training starts in about ([\d,]+(?:\.\d+)?)\s*(s|sec|min)\b)?")
REFUSAL_RE = re.compile(r"already training|try again|refused", re.IGNORECASE)


def parse_step(text: str) -> tuple[int, float | None] | None:
    """(step, shown steps/s per model or None) of the live page's step line, else None."""
    m = STEP_RE.search(text)
    if not m:
        return None
    rate = float(m.group(2).replace(",", "")) if m.group(2) else None
    return int(m.group(1).replace(",", "")), rate


def parse_room_code(texts: Iterable[str]) -> str | None:
    """The room code the page shows after Share: the ``room=CODE`` link of the element that says
    "Room code" (else of any element, when some element says it), else a code printed after
    "Room code"."""
    texts = list(texts)
    said = [t for t in texts if "Room code" in t]
    for t in said + (texts if said else []):
        if m := ROOM_LINK_RE.search(t):
            return m.group(1)
    for t in said:
        if m := ROOM_TEXT_RE.search(t):
            return m.group(1)
    return None


@dataclass(frozen=True)
class QueueInfo:
    position: int
    of: int
    estimate_s: float | None  # "training starts in about …", None when the page gave none


def parse_queue(text: str) -> QueueInfo | None:
    m = QUEUE_RE.search(text)
    if not m:
        return None
    est = None
    if m.group(3):
        est = float(m.group(3).replace(",", "")) * (60.0 if m.group(4) == "min" else 1.0)
    return QueueInfo(int(m.group(1)), int(m.group(2)), est)


def plain(text: str) -> str:
    """Markdown text without its emphasis marks: "Watching run **K7QX2M**" -> "Watching run K7QX2M"."""
    return re.sub(r"[*`]+", "", text)


def is_refusal(text: str) -> bool:
    return bool(REFUSAL_RE.search(text))


def metric_columns(metrics: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """(label, value) of the page's metrics, in page order, grouped into the model columns: a
    label seen again starts the next column (GAN first, then WAE)."""
    cols: list[dict[str, str]] = []
    for label, value in metrics:
        if not cols or label in cols[-1]:
            cols.append({})
        cols[-1][label] = value
    return cols
