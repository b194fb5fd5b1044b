"""scripts/score_checkpoints.py: the pilots' scorer prints one row per file, with class kept
measured as metrics.class_kept does on the same images."""

import importlib.util
from pathlib import Path

import pytest

from wae_core.data.datasets import load_heldout_digits
from wae_core.evaluation import metrics as M
from wae_core.evaluation.lenet import load_classifier
from wae_core.models.checkpoint import load

ROOT = Path(__file__).resolve().parents[2]


def test_score_checkpoints_prints_a_row_per_file(capsys):
    spec = importlib.util.spec_from_file_location("score_checkpoints", ROOT / "scripts/score_checkpoints.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    path = ROOT / "checkpoints" / "mnist-wae-mmd.safetensors"
    assert script.main([str(path), "--n", "200"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3 and out[2].startswith("| mnist-wae-mmd | ")
    cells = [c.strip() for c in out[2].strip("|").split("|")]
    uploads = load_heldout_digits()
    kept = M.class_kept(load(path), uploads.x, uploads.y,
                        load_classifier(ROOT / "checkpoints" / "lenet-mnist.safetensors"))
    assert float(cells[-1].rstrip("%")) == pytest.approx(100 * kept, abs=0.05)
