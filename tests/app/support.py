"""Helpers the app tests share (their fixtures are in ``conftest.py``): open the app or a page with
AppTest, read what it shows, wait for a training; the results file the fixtures write."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

APP_DIR = Path(__file__).resolve().parents[2] / "app"
ENTRY = str(APP_DIR / "streamlit_app.py")
VIEWS = "views"  # never "pages": see the note in the entry
VIEWS_DIR = APP_DIR / VIEWS
TIMEOUT = 120
DATASETS_TIMEOUT = 180  # every page of every data set runs on two busy cores
N_TRAIN = 3_000  # the memorisation test indexes the first 3,000 training images only (speed)
PREFIXES = {"fashion-mnist": "fashion", "stacked-mnist": "stacked"}  # the data sets' model names

RESULTS = {
    "generated": "2026-11-25T16:00:00+00:00",
    "command": "python -m wae_core.evaluate --n 1000",
    "n_samples": 1000,
    "classifier": {"test_accuracy": 0.99},
    "rows": [
        {"model": "VAE", "kind": "vae", "checkpoint": "checkpoints/mnist-vae.safetensors",
         "fid_lenet": 12.5, "sharpness": 0.003, "classes_covered": 10, "kl_uniform": 0.01,
         "confident_share": 0.8, "mmd_qz_pz": 0.002, "recon_mse": 0.02},
        {"model": "GAN", "kind": "gan", "checkpoint": "checkpoints/mnist-gan.safetensors",
         "fid_lenet": 30.0, "sharpness": 0.02, "classes_covered": 6, "kl_uniform": 0.4,
         "confident_share": 0.9, "mmd_qz_pz": None, "recon_mse": None},
        {"model": "True data (MNIST test)", "kind": "data", "fid_lenet": 0.4, "sharpness": 0.021,
         "classes_covered": 10},
    ],
    "toys": [{"toy": "ring", "model": "WAE-MMD", "kind": "wae-mmd", "seeds": 3,
              "modes_covered_mean": 8.0, "modes_covered_std": 0.0, "n_modes": 8,
              "hq_share_mean": 0.01, "hq_share_std": 0.005}],
}

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


def results_with_sections(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """A results file with the Fashion-MNIST and Stacked-MNIST sections, pointed at by
    ``WAE_LAB_RESULTS``."""
    res = json.loads(json.dumps(RESULTS))
    res["stacked"] = STACKED
    res["fashion"] = {"n_samples": 1000, "classifier": {"test_accuracy": 0.9005},
                      "rows": [{**r, "model": r["model"] + " (Fashion)"} for r in res["rows"]]}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(res))
    monkeypatch.setenv("WAE_LAB_RESULTS", str(path))


def open_page(page: str | None, query: dict[str, str] | None = None,
              state: dict[str, object] | None = None) -> AppTest:
    """Run the entry (default page), then switch to ``page`` with widget ``state`` preset."""
    at = AppTest.from_file(ENTRY, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    for k, v in (state or {}).items():
        at.session_state[k] = v
    if page:
        at.switch_page(f"{VIEWS}/{page}").run()
        assert not at.exception, at.exception
    return at


def open_app(query: dict[str, str] | None = None) -> AppTest:
    """Run the entry with ``query`` in the URL (the data-set tests' longer timeout)."""
    at = AppTest.from_file(ENTRY, default_timeout=DATASETS_TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def image_urls(at: AppTest) -> list[str]:
    """Media URLs of the st.image elements (content-addressed: they change with the bytes)."""
    return [img.url for el in at.get("image") for img in el.proto.imgs]


def image_captions(at: AppTest) -> list[str]:
    return [img.caption for el in at.get("image") for img in el.proto.imgs]


def texts(elements) -> list[str]:  # noqa: ANN001
    return [e.value for e in elements]


def page_text(at: AppTest) -> str:
    """Every text of the page (markdown, captions, alerts) in one string."""
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success")
             for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def model_key(app_env: dict, stem: str) -> str:
    """The app's model key (absolute path) of a fixture checkpoint."""
    return str((app_env["checkpoints"] / f"{stem}.safetensors").resolve())


def step_counter(at: AppTest) -> int:
    """The live page's "**Step N**" counter."""
    for m in at.markdown:
        if m.value.startswith("**Step "):
            return int(m.value.split("**")[1].split()[1].replace(",", ""))
    raise AssertionError("no step counter on the page")


def wait_done(at: AppTest, timeout: float = 90) -> None:
    """Rerun the training page until it says the run succeeded or failed."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        at.run()
        if at.success or at.error:
            return
        time.sleep(0.3)
    raise AssertionError("training did not finish in time")


def by_model(frame: pd.DataFrame) -> pd.DataFrame:
    """A Results score table as the tests read it, one row per model (the page shows it
    transposed, one column per model, so that a projector shows it whole)."""
    if frame.index.name != "Score":
        return frame
    return frame.T.reset_index(names="Model")


def score_tables(at: AppTest) -> list[pd.DataFrame]:
    """The Results page's score tables (the main one first), one row per model."""
    return [by_model(t.value) for t in at.table if t.value.index.name == "Score"]
