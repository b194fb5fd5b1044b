"""The Stacked-MNIST mode map (app.figures.stacked_mode_map): each mode in its cell."""

import json

import numpy as np

from app import figures


def test_each_mode_sits_in_its_cell_and_unhit_modes_are_blank():
    counts = [0] * 1000
    counts[347], counts[999], counts[5] = 100, 1, 10  # modes 3-4-7, 9-9-9 and 0-0-5
    hm = json.loads(figures.stacked_mode_map(counts).to_json())["data"][0]
    z = np.array(hm["z"], dtype=float)  # None (blank) -> NaN
    assert z.shape == (10, 100) and int(np.isfinite(z).sum()) == 3
    assert z[3, 47] == 2.0 and z[9, 99] == 0.0 and z[0, 5] == 1.0  # log10 of the counts
    assert hm["text"][3][47] == "100" and hm["text"][0][5] == "10"
    assert hm["y"][3] == "3" and hm["x"][47] == "47"
