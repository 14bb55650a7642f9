"""The corpus of broken and hostile files (tests/fixtures/bad/): each gives its expected Chinese message naming the
file, the expected exit code, no traceback, and no partial output file."""
from __future__ import annotations

import shlex
import subprocess
import sys

import pytest
import yaml

from .conftest import ROOT

BAD = ROOT / "tests" / "fixtures" / "bad"
EXPECTED = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))


def test_every_file_in_the_corpus_has_an_expectation():
    files = {p.name for p in BAD.iterdir() if p.suffix not in (".py",) and p.name != "expected.yaml"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file(tmp_path, name):
    spec = EXPECTED[name]
    path = BAD / name
    args = [a.replace("{file}", str(path)) for a in shlex.split(spec["command"])]
    args = [str(ROOT / a) if a.startswith("data/") else a for a in args]
    r = subprocess.run([sys.executable, "-m", "evaluator", *args], capture_output=True, text=True, cwd=tmp_path,
                       timeout=300, env={**__import__("os").environ, "COLUMNS": "400"})
    out = r.stdout + r.stderr
    assert r.returncode == spec["exit"], out
    assert spec["message"] in out.replace("\n", "")
    assert "Traceback" not in out
    if spec["exit"] == 1 and r.stderr:
        assert r.stderr.startswith("错误：") and str(path) in r.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing half-written
