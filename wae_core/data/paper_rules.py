"""Paper rules: the faint lines of lined and squared paper, found and subtracted from an upload's
ink before it is cropped (:func:`remove_rules`, a step of :func:`wae_core.data.ingest.to_mnist`).

A digit photographed on lined or squared paper comes with faint rules across the whole sheet,
slanted when the photo is taken at an angle (perspective keeps them straight). Left in, they count
as ink: the crop becomes the whole sheet and the digit ends up tiny. They are found as thin ridges
along one straight line from edge to edge (a Hough transform over the ridges' peaks in strips of
columns), and subtracted where they are fainter than the ink. Developed on the validation split
of scripts/make_heldout_digits_2.py (``--validation``: images 20-39 of each family and digit),
never on the set itself.
"""

from __future__ import annotations

import numpy as np

from wae_core.data.paper_light import interp_weights
from wae_core.data.uploads import ImageError

__all__ = ["BBOX_THRESHOLD", "remove_rules"]

BBOX_THRESHOLD = 0.1  # a pixel counts as ink for the bounding box above this fraction of max
_RULE_MIN_SIDE = 64  # px: smaller inputs (MNIST-size scans, icons) have no room for paper rules
_RULE_GAP = 3  # px: a rule (1-3 px wide at the work resolution, blurred) is brighter than the
# pixels this far above and below it; thicker strokes (a marker's, a canvas brush's) are no ridges
_RULE_STRIP = 8  # px: the ridges are averaged over strips this wide across the rules (noise);
# a rule slanted by _RULE_MAX_SLOPE drifts 2.4 px in one strip, still one peak
_RULE_MAX_SLOPE = 0.3  # rules slant by up to ~17 degrees (the camera at an angle)
_RULE_MIN_RIDGE = 0.02  # a strip's ridge peak stands at least this high (ink = 1) ...
_RULE_RIDGE_NOISE = 4.0  # ... and this many times the noise of the strips' ridge profiles
_RULE_TOLERANCE = 1.5  # px: a strip's ridge peak this close to a line lies on it
_RULE_MIN_COVER = 0.4  # a rule shows in at least this share of the strips it crosses (the digit,
# the light and the noise hide the rest) ...
_RULE_END_REACH = 0.15  # ... and within this share of its length from each end: it runs from
# edge to edge (a digit's stroke seldom does)
_RULE_MIN_SPAN = 0.25  # it crosses at least this share of the image (a rule cut off by a corner)
_RULE_MAX_LEVEL = 0.7  # a rule is fainter than this (the ink is 1): a line as bright as the
# ink is a digit's own (a 7's bar drawn from edge to edge; blurred thin bars measure ~0.8)
_RULE_MAX_BESIDE = 0.25  # a rule has paper beside it: ink above this (the ink is 1) just beyond
# _RULE_HALF_WIDTH either side means a thick stroke, whose texture can line up as ridges
_RULE_MAX_COUNT = 64  # lines per direction, at most (squared paper at 512 px: about 20)
_RULES_ONLY = 0.1  # a sheet with less than this share of its ink off the lines is blank ...
_RULES_ONLY_CONTRAST = 0.1  # ... when its ink is this faint (paper rules: 0.02-0.07 on the 0..1
# grey scale; a pen: 0.3 and more, so a boxy 8 drawn with a ruler is no blank sheet) ...
_RULES_ONLY_LINES = 2  # ... when at least this many of them, parallel, run right up to the
# edges (rules come in families and are cut by the frame; a 1 whose stem and base cross the image
# is one line each way, a boxy 0 or 8 drawn big stops short of the edges)
_RULE_HALF_WIDTH = 4.0  # px either side of a rule's centre line that its removal touches
_RULE_SEGMENTS = 16  # the rule's profile is followed along it in this many pieces (uneven light)
_RULE_PIECE_CAP = 2.0  # a piece's profile is at most this many times the whole rule's (a bar
# lying on the rule over a whole piece is not taken for the rule)


def _ridges(ink: np.ndarray) -> np.ndarray:
    """How far each pixel stands above both pixels _RULE_GAP rows above and below it (above the
    one inside the image near its top and bottom: a rule may run along the edge)."""
    g = _RULE_GAP
    padded = np.pad(ink, ((g, g), (0, 0)), constant_values=-np.inf)
    return ink - np.maximum(padded[: -2 * g], padded[2 * g :])


def _strip_peaks(ridge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ridges' peaks in each strip of _RULE_STRIP columns: (strip index, row to sub-pixel)."""
    h, w = ridge.shape
    n = w // _RULE_STRIP
    prof = ridge[:, : n * _RULE_STRIP].reshape(h, n, _RULE_STRIP).mean(axis=2).T  # (strip, row)
    centre = float(np.median(prof))
    noise = 1.4826 * float(np.median(np.abs(prof - centre)))
    threshold = max(_RULE_MIN_RIDGE, centre + _RULE_RIDGE_NOISE * noise)
    mid = prof[:, 1:-1]
    strips, rows = np.nonzero((mid > threshold) & (mid >= prof[:, :-2]) & (mid > prof[:, 2:]))
    rows = rows + 1
    up, here, down = prof[strips, rows - 1], prof[strips, rows], prof[strips, rows + 1]
    curve = np.minimum(up - 2 * here + down, -1e-6)  # the parabola through the three: its top
    return strips, rows + np.clip(0.5 * (up - down) / curve, -0.5, 0.5)


def _fit_line(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float]:
    """Least-squares line ys = b + slope * xs, as (slope, b)."""
    if len(xs) < 2 or float(np.ptp(xs)) == 0:
        return 0.0, float(np.mean(ys))
    slope, b = np.polyfit(xs, ys, 1)
    return float(slope), float(b)


def _find_rules(ink: np.ndarray) -> list[tuple[float, float, float, bool]]:
    """Straight thin lines across ``ink`` from its left edge to its right, slanted by at most
    _RULE_MAX_SLOPE: (slope, b, level, edges) each, the line's centre at column x being at row
    b + slope * (x - w / 2), ``level`` its brightness (:func:`_line_level`) and ``edges`` whether
    it is found right up to both edges (in the first and last strips it crosses). A line with ink
    beside it is no rule: ridges found along a thick stroke (its texture, a scan's blocks).

    The ridges' peaks in each strip of columns vote for the straight lines through them (a Hough
    transform); the best-voted line takes the peaks near it, is fitted to them, and counts when it
    is found in most strips it crosses, near both its ends; then the next.
    """
    h, w = ink.shape
    n_strips = w // _RULE_STRIP
    ridge = _ridges(ink)
    strips, ys = _strip_peaks(ridge)
    if strips.size == 0 or n_strips < 4:
        return []
    xc = strips * _RULE_STRIP + (_RULE_STRIP - 1) / 2 - w / 2  # the strips' centres, from the middle
    step = 1.0 / w  # the next slope moves a line's ends by half a pixel
    slopes = np.arange(-_RULE_MAX_SLOPE, _RULE_MAX_SLOPE + step / 2, step)
    b_min = -_RULE_MAX_SLOPE * w / 2 - 2
    n_b = int(np.ceil(h + _RULE_MAX_SLOPE * w)) + 5
    row_starts = np.arange(len(slopes))[:, None] * n_b

    def cells(points: np.ndarray) -> np.ndarray:
        b = ys[points][None, :] - slopes[:, None] * xc[points][None, :]
        return (row_starts + np.rint(b - b_min).astype(np.int64)).ravel()

    # the votes for each line (slope, b), flat, from the peaks within a pixel of it (the margins
    # of b keep each slope's row apart)
    one = np.bincount(cells(np.arange(ys.size)), minlength=slopes.size * n_b)
    votes = one.copy()
    votes[1:] += one[:-1]
    votes[:-1] += one[1:]
    free = np.ones(ys.size, dtype=bool)
    all_strips = np.arange(n_strips)
    all_xc = all_strips * _RULE_STRIP + (_RULE_STRIP - 1) / 2 - w / 2
    min_votes = max(4, int(_RULE_MIN_COVER * _RULE_MIN_SPAN * n_strips))
    rules: list[tuple[float, float, float, bool]] = []
    while len(rules) < _RULE_MAX_COUNT:
        si, bi = divmod(int(np.argmax(votes)), n_b)
        if votes[si * n_b + bi] < min_votes:
            break
        slope, b = float(slopes[si]), float(bi + b_min)
        near = free & (np.abs(ys - (b + slope * xc)) <= _RULE_TOLERANCE)  # the line's voters
        for _ in range(2):  # fit the line to them; the peaks near the fit, if no fewer
            fit_slope, fit_b = _fit_line(xc[near], ys[near])
            refit = free & (np.abs(ys - (fit_b + fit_slope * xc)) <= _RULE_TOLERANCE)
            if refit.sum() < near.sum():
                break
            slope, b, near = fit_slope, fit_b, refit
        free &= ~near
        taken = cells(near)
        for shift in (-1, 0, 1):
            np.subtract.at(votes, taken + shift, 1)
        if abs(slope) > _RULE_MAX_SLOPE:
            continue
        line = b + slope * all_xc
        inside = all_strips[(line >= 0) & (line <= h - 1)]  # the strips it crosses in the image
        found = np.unique(strips[near])
        reach = max(2.0, _RULE_END_REACH * inside.size)
        if (
            inside.size * _RULE_STRIP < _RULE_MIN_SPAN * w
            or found.size < _RULE_MIN_COVER * inside.size
            or found[0] > inside[0] + reach
            or found[-1] < inside[-1] - reach
        ):
            continue
        level, beside = _line_level(ink, slope, b, found)
        # fainter than the bounding box's threshold, it does not stretch the crop: left alone
        if level > BBOX_THRESHOLD and beside <= _RULE_MAX_BESIDE:
            edges = bool(found[0] == inside[0] and found[-1] == inside[-1])
            rules.append((slope, b, level, edges))
    return rules


def _line_level(ink: np.ndarray, slope: float, b: float, strips: np.ndarray) -> tuple[float, float]:
    """How bright a line is where it was found (in ``strips``), and the ink beside it there: the
    medians of its centre over the brighter of the two pixels just beyond _RULE_HALF_WIDTH either
    side (the one inside the image near its edges), and of that brighter pixel. Unlike the ridge,
    which is lower for a thick bar, the first is the line's full height; the second is high along
    a thick stroke."""
    h, w = ink.shape
    cols = (strips[:, None] * _RULE_STRIP + np.arange(_RULE_STRIP)).ravel()
    rows = np.rint(b + slope * (cols - w / 2)).astype(np.int64)
    on = (rows >= 0) & (rows < h)
    rows, cols = rows[on], cols[on]
    if rows.size == 0:
        return 0.0, 0.0
    side = int(_RULE_HALF_WIDTH) + 1
    padded = np.pad(ink, ((side, side), (0, 0)), constant_values=-np.inf)
    beside = np.maximum(padded[rows, cols], padded[rows + 2 * side, cols])
    return float(np.median(ink[rows, cols] - beside)), float(np.median(beside))


def _erase_rule(ink: np.ndarray, out: np.ndarray, slope: float, b: float) -> None:
    """Subtract one rule (found by :func:`_find_rules` in ``ink``) from ``out``, in place.

    The rule's profile across it, above the background beside it, is measured in pieces along it
    as medians, so that the strokes crossing it do not count and the light may vary along it. Where
    ink lies on the rule, less is subtracted, none from ink at 1 (a 7's bar lying on a rule stays).
    """
    h, w = ink.shape
    cols = np.arange(w)
    centre = b + slope * (cols - w / 2)
    offsets = np.arange(-_RULE_HALF_WIDTH, _RULE_HALF_WIDTH + 0.25, 0.5)  # across the rule
    yy = centre[None, :] + offsets[:, None]
    y0 = np.clip(np.floor(yy).astype(np.int64), 0, h - 2)
    fy = np.clip(yy - y0, 0.0, 1.0)
    band = ink[y0, cols] * (1 - fy) + ink[y0 + 1, cols] * fy  # (offset, column): the rule straightened
    outside = (yy < 0) | (yy > h - 1)
    band = np.where(outside, band[::-1], band)  # beyond the image's edge: the other side instead
    beside = np.abs(offsets) >= _RULE_HALF_WIDTH - 0.5
    n = min(_RULE_SEGMENTS, w)
    length = w // n  # pieces of this many columns (the last few columns join no piece)
    pieces = band[:, : n * length].reshape(offsets.size, n, length)
    middles = np.arange(n) * length + (length - 1) / 2
    bg = np.median(pieces[beside].transpose(1, 0, 2).reshape(n, -1), axis=1)
    profile = np.median(pieces, axis=2) - bg  # (offset, piece)
    overall = np.median(band, axis=1) - np.median(band[beside])
    profile = np.clip(profile, 0.0, _RULE_PIECE_CAP * np.clip(overall, 0.0, None)[:, None])
    between = interp_weights(w, middles)  # (column, piece)
    bg_col = between @ bg
    profile_col = profile @ between.T  # (offset, column)

    rows = np.floor(centre).astype(np.int64)[None, :] + np.arange(-5, 7)[:, None]
    d = rows - centre[None, :]
    touched = (np.abs(d) <= _RULE_HALF_WIDTH) & (rows >= 0) & (rows < h)
    r, c = rows[touched], np.broadcast_to(cols, rows.shape)[touched]
    k = (d[touched] + _RULE_HALF_WIDTH) / 0.5  # fractional index into offsets
    k0 = np.minimum(np.floor(k).astype(np.int64), offsets.size - 2)
    fk = k - k0
    rule = profile_col[k0, c] * (1 - fk) + profile_col[k0 + 1, c] * fk
    v = out[r, c]
    room = np.maximum(1.0 - bg_col[c] - rule, 0.05)  # from the rule's top to the ink's level
    out[r, c] = v - rule * np.clip((1.0 - v) / room, 0.0, 1.0)


def remove_rules(ink: np.ndarray, contrast: float = 1.0) -> tuple[np.ndarray, int]:
    """``ink`` without the horizontal and vertical rules of lined or squared paper: the straight
    lines across it (:func:`_find_rules`) that are clearly fainter than the ink; and how many
    were removed.

    Raises:
        ImageError: when the ink is as faint as paper rules (``contrast``, see
            :func:`wae_core.data.ingest._normalise_ink`) and lines, among them parallel ones cut
            by the frame, hold practically all of it: a blank ruled sheet.
    """
    h, w = ink.shape
    if min(h, w) < _RULE_MIN_SIDE:
        return ink, 0
    rows, cols = _find_rules(ink), _find_rules(ink.T)
    lines = [(False, *line) for line in rows] + [(True, *line) for line in cols]
    ruled = max(sum(line[3] for line in rows), sum(line[3] for line in cols)) >= _RULES_ONLY_LINES
    if contrast <= _RULES_ONLY_CONTRAST and ruled and _on_lines(ink, lines) >= 1.0 - _RULES_ONLY:
        raise ImageError("no ink found: the image is blank")
    out, removed = ink.copy(), 0
    for transposed, slope, b, level, _ in lines:
        if level <= _RULE_MAX_LEVEL:
            if transposed:
                _erase_rule(ink.T, out.T, slope, b)
            else:
                _erase_rule(ink, out, slope, b)
            removed += 1
    return out, removed


def _on_lines(ink: np.ndarray, lines: list[tuple[bool, float, float, float, bool]]) -> float:
    """The share of the ink (as the bounding box counts it) within _RULE_HALF_WIDTH of ``lines``
    (transposed, then :func:`_find_rules`'s tuple, found in ``ink`` or in its transpose)."""
    on = np.zeros(ink.shape, dtype=bool)
    across = np.arange(-int(_RULE_HALF_WIDTH), int(_RULE_HALF_WIDTH) + 1)[:, None]
    for transposed, slope, b, *_ in lines:
        view = on.T if transposed else on
        h, w = view.shape
        cols = np.broadcast_to(np.arange(w), (across.size, w))
        rows = np.rint(b + slope * (cols[0] - w / 2)).astype(np.int64)[None, :] + across
        inside = (rows >= 0) & (rows < h)
        view[rows[inside], cols[inside]] = True
    mass = np.clip(ink, 0.0, 1.0)
    mass = np.where(mass > BBOX_THRESHOLD * float(mass.max()), mass, 0.0)
    return float(mass[on].sum()) / max(float(mass.sum()), 1e-12)
