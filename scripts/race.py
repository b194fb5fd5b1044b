"""Quality per CPU-second: train each contender for the same wall-clock budget, score all with our
evaluator (FID on LeNet features and sharpness, the same n samples each).

    .venv/bin/python scripts/race.py --budgets 180 --parallel --seeds 0 1 2 --json results/race-180.json
    .venv/bin/python scripts/race.py --budgets 60 --threads 2 \\
        --contenders pythae-wae-mmd ours-mnist-wae-mmd

Contenders:

* ``pythae-aae``, ``pythae-wae-mmd``: pythae 0.1.2's Adversarial_AE and WAE_MMD on a small conv
  net (scripts/race_pythae.py says which net, loss and loop), run in ``.venv-race``
  (``scripts/race_env.sh`` makes it: pythae is no dependency of the lab).
* ``ours-<recipe>``, any MNIST recipe of :mod:`wae_core.training.recipes`: ``python -m wae_core.train
  --recipe <recipe> --max-minutes <budget / 60>``, its epochs raised to :data:`OURS_EPOCHS` so that
  the budget stops it (a recipe's step schedule still applies at its milestones; a "cosine" one is
  stretched over the raised epochs, a "cosine-budget" one ends on the budget).
* ``ours-<recipe>:<flag>=<value>,...``: the same with some of ``wae_core.train``'s flags changed,
  e.g. ``ours-own-wae-mmd:batch-size=50,z-dim=16`` (a sweep of the recipe, one row per variant).

``--seeds 0 1 2`` trains every contender once per seed (the rows say which); the summary then gives
each contender's FID as mean ± std over the seeds.

Every contender trains in its own process; its training seconds exclude start-up (imports, data,
model) and sampling, and img/s = images trained / training seconds. Scoring starts once every
training of a budget is over, so it never competes with one. ``--parallel`` runs one contender per
CPU core at once, each pinned to its core (``taskset``) with one thread: as fair as one after the
other on one thread, and as many times faster as there are cores. The machine's load average is
printed at the start and the end: on a busy machine every img/s is lower, and not evenly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from wae_core.data.datasets import load_mnist  # noqa: E402
from wae_core.evaluation import metrics as M  # noqa: E402
from wae_core.evaluation.lenet import load_classifier  # noqa: E402
from wae_core.evaluation.scoring import score_samples  # noqa: E402
from wae_core.models import checkpoint  # noqa: E402
from wae_core.train import build_parser as train_parser  # noqa: E402
from wae_core.training import recipes  # noqa: E402

PYTHAE_MODELS = {"pythae-aae": "aae", "pythae-wae-mmd": "wae-mmd"}  # contender -> race_pythae --model
OURS = "ours-"
VARIANT_SEP = ":"  # ours-<recipe>:flag=value,...
RACE_FLAGS = ("recipe", "max-minutes", "epochs", "threads", "seed", "out", "subset")  # set by the race
RACE_PYTHON = REPO / ".venv-race" / "bin" / "python"
PYTHAE_SCRIPT = REPO / "scripts" / "race_pythae.py"
CLASSIFIER = REPO / "checkpoints" / "lenet-mnist.safetensors"
DEFAULT_CONTENDERS = ("pythae-aae", "pythae-wae-mmd", "ours-mnist-wae-gan", "ours-mnist-wae-mmd")
DEFAULT_BUDGETS = (60.0, 180.0, 600.0)
OURS_EPOCHS = 10_000  # more than any budget here reaches: the time cap stops our trainer
# wae_core.train's last line: "saved PATH: E epochs, S steps, T s (why)"
SAVED_LINE = re.compile(r"saved .*: (\d+) epochs, (\d+) steps, (\d+) s")


@dataclass
class Job:
    """One contender's training for one budget, in its own process and folder."""

    contender: str
    budget: float
    folder: Path
    command: list[str]
    seed: int = 0
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.folder / "log.txt"


def variant(contender: str) -> tuple[str, list[tuple[str, str]]]:
    """``ours-<recipe>[:flag=value,...]`` -> (recipe, [(flag, value), ...])."""
    recipe, _, changes = contender[len(OURS):].partition(VARIANT_SEP)
    flags = []
    for change in filter(None, changes.split(",")):
        flag, eq, value = change.partition("=")
        if not (eq and value and re.fullmatch(r"[a-z][a-z0-9-]*", flag)):
            raise argparse.ArgumentTypeError(f"{change!r} in {contender!r}: write flag=value, "
                                             "e.g. batch-size=50 or z-dim=16")
        flags.append((flag, value))
    return recipe, flags


def contender_name(name: str) -> str:
    """argparse type: a pythae contender or ``ours-<MNIST recipe>[:flag=value,...]``."""
    if name in PYTHAE_MODELS:
        return name
    if name.startswith(OURS):
        recipe, flags = variant(name)
        known = {o for a in train_parser()._actions for o in a.option_strings}
        for flag, _ in flags:
            if f"--{flag}" not in known or flag in RACE_FLAGS:
                raise argparse.ArgumentTypeError(f"--{flag} is no wae_core.train flag a variant may set "
                                                 f"(the race sets {', '.join(RACE_FLAGS)} itself)")
        try:
            r = recipes.get(recipe)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        if r.dataset != "mnist":
            raise argparse.ArgumentTypeError(f"{recipe} trains on {r.dataset}: the race scores MNIST")
        return name
    raise argparse.ArgumentTypeError(f"unknown contender {name!r}: {', '.join(PYTHAE_MODELS)} "
                                     f"or {OURS}<recipe>")


def command(contender: str, budget: float, threads: int, seed: int, n: int, subset: int,
            folder: Path) -> list[str]:
    """The training command of one contender (run from the repository root)."""
    if contender in PYTHAE_MODELS:
        cmd = [str(RACE_PYTHON), str(PYTHAE_SCRIPT), "--model", PYTHAE_MODELS[contender],
               "--seconds", f"{budget:g}", "--threads", str(threads), "--seed", str(seed),
               "--n", str(n), "--out", str(folder)]
    else:
        recipe, flags = variant(contender)
        cmd = [sys.executable, "-m", "wae_core.train", "--recipe", recipe,
               *(part for flag, value in flags for part in (f"--{flag}", value)),
               "--max-minutes", repr(budget / 60), "--epochs", str(OURS_EPOCHS),
               "--threads", str(threads), "--seed", str(seed), "--out", str(folder / "model.safetensors")]
    return cmd + (["--subset", str(subset)] if subset else [])


def run_jobs(jobs: list[Job], cores: list[int | None], threads: int) -> None:
    """Run the jobs, at most one per entry of ``cores`` at a time; an int pins its job to that
    CPU with taskset, None leaves it to the scheduler."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    pending, running = list(jobs), {}
    while pending or running:
        for slot, core in enumerate(cores):
            if slot not in running and pending:
                job = pending.pop(0)
                job.folder.mkdir(parents=True, exist_ok=True)
                cmd = (["taskset", "-c", str(core)] if core is not None else []) + job.command
                print(f"  {job.contender}: {shlex.join(cmd)}", flush=True)
                with job.log.open("w") as log:
                    running[slot] = (job, subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log,
                                                           stderr=subprocess.STDOUT))
        for slot, (job, proc) in list(running.items()):
            if proc.poll() is not None:
                del running[slot]
                if proc.returncode:
                    tail = job.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{job.contender} failed (exit {proc.returncode}):\n{tail}")
        time.sleep(0.1)


def pythae_result(job: Job) -> tuple[torch.Tensor, dict[str, Any]]:
    stats = json.loads((job.folder / "stats.json").read_text())
    samples = torch.from_numpy(np.load(job.folder / "samples.npy")).float()
    return samples, {k: stats[k] for k in ("params", "images", "seconds", "train_images")}


def ours_result(job: Job, n: int, seed: int) -> tuple[torch.Tensor, dict[str, Any]]:
    model = checkpoint.load(job.folder / "model.safetensors")
    meta = model.meta
    images = int(meta["step"]) * int(meta["train_config"]["batch_size"])
    saved = SAVED_LINE.findall(job.log.read_text(errors="replace"))
    # The trainer's own count of training seconds (from the start of fit, after start-up); the
    # history's last epoch end when the line is missing.
    seconds = float(saved[-1][2]) if saved else float(meta["history"][-1]["seconds"])
    subset = int(meta.get("subset") or 0)
    with torch.inference_mode():
        samples = M.generate(model, n, seed)
    return samples, {"params": sum(p.numel() for p in model.parameters()), "images": images,
                     "seconds": seconds, "train_images": subset or len(load_mnist("train"))}


def portable(command: list[str], tmp: Path) -> str:
    """A contender's command as a shell line without this machine's paths: the repository's
    prefix dropped (run from its root), the race's temp folder written as $TMP."""
    line = shlex.join(command)
    return line.replace(f"{REPO}/", "").replace(str(tmp), "$TMP")


def score(jobs: list[Job], n: int, classifier: Path) -> list[dict[str, Any]]:
    """Each finished job's row: its training numbers and our evaluator's FID (LeNet) and
    sharpness of n samples against the first n MNIST test images
    (wae_core.evaluation.scoring.score_samples)."""
    clf = load_classifier(classifier)
    ref_feats = clf.embed(load_mnist("test").x[:n])[0]
    rows = []
    for job in jobs:
        if job.contender in PYTHAE_MODELS:
            samples, train = pythae_result(job)
        else:
            samples, train = ours_result(job, n, job.seed)
        with torch.inference_mode():
            r = score_samples(samples[:n], ref_feats, clf, seed=job.seed)
        rows.append({"budget": job.budget, "contender": job.contender, "seed": job.seed, **train,
                     "img_per_s": train["images"] / max(train["seconds"], 1e-9),
                     "epochs": train["images"] / train["train_images"], "n_samples": len(samples[:n]),
                     "fid_lenet": r["fid_lenet"], "sharpness": r["sharpness"],
                     "classes_covered": r["classes_covered"],
                     "command": portable(job.command, job.folder.parent)})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| contender | seed | params | img/s | epochs | FID (LeNet) | sharpness |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['contender']} | {r['seed']} | {r['params'] / 1e3:,.0f} k | "
                     f"{r['img_per_s']:,.0f} | {r['epochs']:.2f} | {r['fid_lenet']:.1f} | "
                     f"{r['sharpness']:.4f} |")
    return "\n".join(lines)


def summary(rows: list[dict[str, Any]]) -> str:
    """Each contender's mean ± std (over its seeds; std 0 for one) of img/s, FID and sharpness."""
    lines = ["| contender | seeds | img/s | FID (LeNet) | sharpness |", "|---|---|---|---|---|"]
    for c in dict.fromkeys(r["contender"] for r in rows):
        mine = [r for r in rows if r["contender"] == c]
        cell = {k: (np.mean([r[k] for r in mine]), np.std([r[k] for r in mine]))
                for k in ("img_per_s", "fid_lenet", "sharpness")}
        lines.append(f"| {c} | {len(mine)} | {cell['img_per_s'][0]:,.0f} ± {cell['img_per_s'][1]:,.0f} | "
                     f"{cell['fid_lenet'][0]:.1f} ± {cell['fid_lenet'][1]:.1f} | "
                     f"{cell['sharpness'][0]:.4f} ± {cell['sharpness'][1]:.4f} |")
    return "\n".join(lines)


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min), {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/race.py", description=__doc__.split("\n")[0])
    p.add_argument("--budgets", nargs="+", type=float, default=list(DEFAULT_BUDGETS),
                   help="training seconds per contender (one table each)")
    p.add_argument("--contenders", nargs="+", type=contender_name, default=list(DEFAULT_CONTENDERS),
                   help=f"{', '.join(PYTHAE_MODELS)}, {OURS}<recipe> "
                        "(an MNIST recipe of wae_core.training.recipes)")
    p.add_argument("--threads", type=int, default=2, help="torch threads per contender (1 with --parallel)")
    p.add_argument("--parallel", action="store_true",
                   help="one contender per CPU core at once, each pinned to its core, one thread")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="one training per contender and seed")
    p.add_argument("--n", type=int, default=10_000, help="samples scored per contender")
    p.add_argument("--subset", type=int, default=0, help="train on the first N MNIST images only (tests)")
    p.add_argument("--classifier", type=Path, default=CLASSIFIER)
    p.add_argument("--json", type=Path, help="also write every row (and the commands) here")
    p.add_argument("--keep", action="store_true", help="keep the temp folder of checkpoints / samples")
    a = p.parse_args(argv)
    if any(c in PYTHAE_MODELS for c in a.contenders) and not RACE_PYTHON.exists():
        p.error(f"{RACE_PYTHON.relative_to(REPO)} missing: run scripts/race_env.sh first (pythae's venv)")
    cores: list[int | None] = sorted(os.sched_getaffinity(0)) if a.parallel else [None]
    threads = 1 if a.parallel else a.threads
    torch.set_num_threads(threads)
    start_load = load_line()
    how = f"parallel on cores {cores}, 1 thread each" if a.parallel else f"one at a time, {threads} threads"
    print(f"race: {', '.join(a.contenders)}; budgets {', '.join(f'{b:g} s' for b in a.budgets)}; {how}; "
          f"n = {a.n}, seeds {', '.join(map(str, a.seeds))}; torch {torch.__version__}\nstart: {start_load}",
          flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="wae-race-"))
    rows: list[dict[str, Any]] = []
    try:
        for budget in a.budgets:
            jobs = [Job(c, budget, tmp / f"{budget:g}s-seed{seed}-{c.replace(VARIANT_SEP, '_')}", [], seed)
                    for seed in a.seeds for c in a.contenders]
            for job in jobs:
                job.command = command(job.contender, budget, threads, job.seed, a.n, a.subset, job.folder)
            print(f"\ntraining, {budget:g} s each:", flush=True)
            run_jobs(jobs, cores, threads)
            budget_rows = score(jobs, a.n, a.classifier)
            rows += budget_rows
            print(f"\n### {budget:g} s of training each\n\n{markdown(budget_rows)}", flush=True)
            if len(a.seeds) > 1:
                print(f"\nmean ± std over seeds {', '.join(map(str, a.seeds))}:\n\n{summary(budget_rows)}",
                      flush=True)
    finally:
        if a.keep:
            print(f"\nkept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    end_load = load_line()
    print(f"\nend: {end_load}")
    if a.json:
        report = {"generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  "command": shlex.join(["scripts/race.py", *(sys.argv[1:] if argv is None else argv)]),
                  "parallel": a.parallel, "threads": threads, "n_samples": a.n, "seeds": a.seeds,
                  "torch": torch.__version__, "cpus": os.cpu_count(), "load_start": start_load,
                  "load_end": end_load, "rows": rows}
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
