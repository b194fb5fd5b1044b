#!/usr/bin/env bash
# .venv-race: a separate environment with pythae, for scripts/race.py's pythae contenders only
# (pythae is never a dependency of the lab: it is not in requirements.txt).
#
# It reuses .venv's packages (torch above all, ~3 GB) through a .pth file instead of downloading
# them again: pip sees them as installed and adds only what pythae needs besides (pydantic,
# imageio, ...). The torch pin makes pip fail rather than replace .venv's torch.
# Usage: scripts/race_env.sh        (run after .venv exists; again to repair it)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHAE_VERSION=0.1.2
BASE=.venv
RACE=.venv-race
[[ -x $BASE/bin/python ]] || { echo "error: $BASE missing: create it first (see docs/speed.md)" >&2; exit 1; }
base_site=$($BASE/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
torch_version=$($BASE/bin/python -c 'import torch; print(torch.__version__.split("+")[0])')

[[ -x $RACE/bin/python ]] || $BASE/bin/python -m venv "$RACE"
race_site=$($RACE/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# A .pth line is appended to sys.path after the venv's own site-packages: what .venv-race installs
# itself wins, everything else comes from .venv.
echo "$(cd "$base_site" && pwd)" > "$race_site/wae-lab-base.pth"

$RACE/bin/python -m pip install -q "pythae==$PYTHAE_VERSION" "torch==$torch_version"

# Check: pythae imports, and torch is still .venv's (not a second copy in .venv-race).
$RACE/bin/python - "$base_site" <<'EOF'
import sys
from importlib.metadata import version
from pathlib import Path

import pythae  # noqa: F401  (imports: its own dependencies are complete)
import torch

base = Path(sys.argv[1]).resolve()
where = Path(torch.__file__).resolve()
assert base in where.parents, f"torch was installed into .venv-race ({where}), not reused from .venv"
print(f"ok: pythae {version('pythae')}, torch {torch.__version__} from {where.parent}")
EOF
