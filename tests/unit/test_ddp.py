"""DistributedDataParallel on 2 CPU processes (gloo through torchrun) stays in sync."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

WORKER = r"""
import hashlib, os, sys
import torch, torch.distributed as dist
torch.set_num_threads(1)
from wae_core import ModelConfig, TrainConfig, Trainer, build_model
from wae_core.data.datasets import load_mnist
torch.manual_seed(int(os.environ["RANK"]))  # different init per rank: DDP must broadcast rank 0's
model = build_model(ModelConfig(kind=sys.argv[1]))
data = load_mnist("test").subset(400)
t = Trainer(model, data, TrainConfig(epochs=1, batch_size=50, device="cpu"), out=sys.argv[2])
t.fit()
flat = torch.cat([p.detach().flatten() for p in model.parameters()])
digest = torch.tensor(list(hashlib.sha256(flat.numpy().tobytes()).digest()[:8]))
out = [torch.zeros_like(digest) for _ in range(2)]
dist.all_gather(out, digest)
# one write per line: both ranks share the pipe, and print() may write text and newline apart
same = torch.equal(out[0], out[1])
sys.stdout.write(f"rank {dist.get_rank()} steps {t.step} world {t.world} same {same}\n")
sys.stdout.flush()
dist.barrier()  # as the CLI does: no rank tears gloo down while the other still talks to it
dist.destroy_process_group()
"""


TEARDOWN_ABORT = "terminate called without an active exception"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["wae-mmd", "wae-gan"])
def test_two_cpu_processes_stay_in_sync(kind, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    torchrun = Path(sys.executable).parent / "torchrun"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    def run():
        return subprocess.run(
            [str(torchrun), "--nproc_per_node=2", "--master_addr", "127.0.0.1",
             "--master_port", str(_free_port()), str(script), kind, str(tmp_path / "m.safetensors")],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)

    res = run()
    if res.returncode != 0 and TEARDOWN_ABORT in res.stderr and res.stdout.count(" same True") == 2:
        # Both ranks finished in sync, then gloo aborted while tearing down (seen about once in
        # 20 runs on a loaded 2-core machine, after barrier + destroy_process_group): run again.
        res = run()
    assert res.returncode == 0, res.stderr[-3000:]
    lines = re.findall(r"rank \d steps \d+ world \d same \w+", res.stdout)
    assert len(lines) == 2, res.stdout
    # each rank trains on its own half: 200 images / 50 = 4 steps; weights identical at the end
    assert all("steps 4 world 2 same True" in ln for ln in lines), lines
    assert (tmp_path / "m.safetensors").exists()  # rank 0 saved
