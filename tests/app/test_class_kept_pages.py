"""The uploads' class kept on the Results and Reconstructions pages: read from results.json per
model and per family of digits, never typed."""

from __future__ import annotations

from app import class_kept

ROWS = [
    {"model": "VAE", "checkpoint": "checkpoints/mnist-vae.safetensors", "class_kept_heldout": 0.9433,
     "class_kept_heldout_by_source": {"font": 0.8933, "photo": 0.96},
     "class_kept_heldout2": 0.715, "class_kept_heldout2_by_source": {"uci-8x8": 0.87, "pencil": 0.435}},
    {"model": "GAN", "checkpoint": "checkpoints/mnist-gan.safetensors"},
]


def test_family_table_has_each_family_of_each_set() -> None:
    one = class_kept.family_table(ROWS, "heldout")
    assert list(one.columns) == ["Model", "all", "printed", "photographed"]
    assert one.iloc[0].tolist() == ["VAE", "94.3%", "89.3%", "96.0%"]
    two = class_kept.family_table(ROWS, "heldout2")
    assert two.iloc[0].tolist() == ["VAE", "71.5%", "87.0%", "43.5%"]
    assert class_kept.family_table(ROWS[1:], "heldout") is None  # the GAN has no encoder


def test_a_models_line_names_both_sets() -> None:
    row = class_kept.row_of(ROWS, "/anywhere/checkpoints/mnist-vae.safetensors")
    assert row is ROWS[0]
    line = class_kept.sentence(row)
    assert "94%" in line and "72%" in line
    assert class_kept.row_of(ROWS, "runs/mine.safetensors") is None
    assert class_kept.sentence(ROWS[1]) is None
