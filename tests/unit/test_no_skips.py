"""The ``make test`` guard: a skipped test fails the run; xfails and passes are untouched."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SAMPLE = '''
import pytest

def test_passes():
    pass

def test_missing_dependency():
    pytest.importorskip("a_module_that_is_not_installed")

@pytest.mark.xfail(strict=True, raises=AssertionError)
def test_expected_failure():
    assert False
'''


def _run(tmp_path, env_value):
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WAE_NO_SKIPS": env_value}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.no_skips",
                           "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_skip_fails_under_make_test(tmp_path):
    r = _run(tmp_path, "1")
    assert r.returncode == 1, r.stdout
    assert "1 failed, 1 passed, 1 xfailed" in r.stdout, r.stdout
    assert "a_module_that_is_not_installed" in r.stdout


def test_skip_is_a_skip_elsewhere(tmp_path):
    r = _run(tmp_path, "0")
    assert r.returncode == 0 and "1 passed, 1 skipped, 1 xfailed" in r.stdout, r.stdout
