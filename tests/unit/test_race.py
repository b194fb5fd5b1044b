"""scripts/race.py: our contenders end to end on a tiny budget, the core pinning of --parallel and the
contender names. (The pythae side needs .venv-race, which the suite does not install: it is
smoke-run by hand, see scripts/race_env.sh.)"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def race():
    spec = importlib.util.spec_from_file_location("race", ROOT / "scripts" / "race.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["race"] = mod  # its dataclass looks its module up while being defined
    spec.loader.exec_module(mod)
    return mod


def test_ours_end_to_end_on_a_tiny_budget(race, tmp_path, capsys):
    """Two seconds of the Train-your-own WAE-MMD recipe on 1,000 images, scored on 300 samples: the
    row's numbers are the run's (images from the checkpoint's steps, img/s = images / seconds)."""
    out = tmp_path / "race.json"
    assert race.main(["--budgets", "2", "--contenders", "ours-own-wae-mmd", "--threads", "1",
                      "--n", "300", "--subset", "1000", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| contender | seed | params | img/s | epochs | FID (LeNet) | sharpness |" in printed
    assert printed.count("load average") == 2  # at the start and at the end
    (row,) = json.loads(out.read_text())["rows"]
    assert row["contender"] == "ours-own-wae-mmd" and row["budget"] == 2
    # the stored command names no path of this machine (the repository, the temp folder)
    assert row["command"].startswith(".venv/bin/python -m wae_core.train --recipe own-wae-mmd")
    assert "--out $TMP/" in row["command"] and str(race.REPO) not in row["command"]
    assert row["images"] > 0 and row["images"] % 100 == 0  # whole batches of the recipe's 100
    # The time cap stopped it (the recipe's 3 epochs of 1,000 images would take longer), after ~2 s
    # of training: start-up is not counted.
    assert 1 <= row["seconds"] <= 4
    assert row["img_per_s"] == pytest.approx(row["images"] / row["seconds"])
    assert row["epochs"] == pytest.approx(row["images"] / 1000)
    assert row["n_samples"] == 300 and math.isfinite(row["fid_lenet"]) and row["sharpness"] > 0
    assert f"| ours-own-wae-mmd | 0 | {row['params'] / 1e3:,.0f} k | {row['img_per_s']:,.0f} |" in printed


def test_parallel_pins_each_job_to_its_own_core(race, tmp_path):
    """Each slot's process runs on its core only (taskset), one job per slot at a time."""
    probe = [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"]
    jobs = [race.Job(f"probe{i}", 1.0, tmp_path / f"p{i}", probe) for i in range(3)]
    race.run_jobs(jobs, [0, 0], threads=1)
    assert [j.log.read_text().strip() for j in jobs] == ["[0]"] * 3
    race.run_jobs(jobs[:1], [None], threads=1)  # not pinned: every core the test may use
    assert jobs[0].log.read_text().strip() != "[0]" or len(race.os.sched_getaffinity(0)) == 1


def test_a_failed_contender_stops_the_race_with_its_log(race, tmp_path):
    job = race.Job("broken", 1.0, tmp_path / "b", [sys.executable, "-c", "raise SystemExit('no data')"])
    with pytest.raises(RuntimeError, match=r"(?s)broken failed .*no data"):
        race.run_jobs([job], [None], threads=1)


def test_contender_names(race):
    assert race.contender_name("pythae-aae") == "pythae-aae"
    assert race.contender_name("ours-mnist-wae-gan") == "ours-mnist-wae-gan"
    for bad, why in (("ours-nope", "unknown recipe"), ("ours-ring-wae-mmd", "scores MNIST"),
                     ("pythae-vae", "unknown contender")):
        with pytest.raises(race.argparse.ArgumentTypeError, match=why):
            race.contender_name(bad)
    cmd = race.command("ours-mnist-wae-mmd", 90, 1, 3, 100, 0, Path("/tmp/x"))
    # The budget, not the recipe's epochs, ends our run.
    assert cmd[cmd.index("--max-minutes") + 1] == "1.5" and int(cmd[cmd.index("--epochs") + 1]) >= 1000


def test_variants_change_the_recipes_flags(race):
    """ours-<recipe>:flag=value,... passes the flags to wae_core.train after the recipe (so they
    override it); flags the race sets itself, unknown flags and malformed changes are refused."""
    name = "ours-own-wae-mmd:lr=0.002,batch-size=50"
    assert race.contender_name(name) == name
    cmd = race.command(name, 60, 1, 2, 100, 0, Path("/tmp/x"))
    assert cmd[cmd.index("--recipe") + 1] == "own-wae-mmd"
    assert cmd[cmd.index("--lr") + 1] == "0.002" and cmd[cmd.index("--batch-size") + 1] == "50"
    assert cmd[cmd.index("--seed") + 1] == "2"
    for bad, why in (("ours-own-wae-mmd:max-minutes=9", "the race sets"),
                     ("ours-own-wae-mmd:no-such-flag=1", "no wae_core.train flag"),
                     ("ours-own-wae-mmd:lr", "write flag=value"),
                     ("ours-own-wae-mmd:lr=", "write flag=value")):
        with pytest.raises(race.argparse.ArgumentTypeError, match=why):
            race.contender_name(bad)


def test_summary_is_mean_and_std_over_seeds(race):
    rows = [{"contender": "a", "img_per_s": 100.0, "fid_lenet": 10.0, "sharpness": 0.1},
            {"contender": "a", "img_per_s": 300.0, "fid_lenet": 30.0, "sharpness": 0.3},
            {"contender": "b", "img_per_s": 50.0, "fid_lenet": 7.0, "sharpness": 0.05}]
    table = race.summary(rows)
    assert "| a | 2 | 200 ± 100 | 20.0 ± 10.0 | 0.2000 ± 0.1000 |" in table
    assert "| b | 1 | 50 ± 0 | 7.0 ± 0.0 | 0.0500 ± 0.0000 |" in table
