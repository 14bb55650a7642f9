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
    assert "".join(spec["message"].split()) in "".join(out.split())  # (a console wraps at a space, by path length)
    assert "Traceback" not in out
    if spec["exit"] == 1 and r.stderr:
        assert r.stderr.startswith("错误：") and str(path) in r.stderr
    if spec["exit"] == 1:
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing half-written


def test_user_templates_run_in_the_sandbox(tmp_path):
    """A template supplied through EVALUATOR_TEMPLATES cannot reach Python internals; the user gets a clear error."""
    from .conftest import SEED_ACTUALS, SEED_TARGETS

    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "report.md.j2").write_text("# 报告\n\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n", encoding="utf-8")
    env = {**__import__("os").environ, "EVALUATOR_TEMPLATES": str(folder)}
    r = subprocess.run([sys.executable, "-m", "evaluator", "report", str(SEED_TARGETS), str(SEED_ACTUALS), "-o",
                        str(tmp_path / "out"), "--format", "html"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 1 and "模板试图执行不允许的操作，已阻止" in r.stderr and "Traceback" not in r.stderr
    # a harmless user template is used
    (folder / "report.md.j2").write_text("# 自定义报告 {{ t.title }}\n\n[[indicators]]\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "evaluator", "report", str(SEED_TARGETS), str(SEED_ACTUALS), "-o",
                        str(tmp_path / "out2"), "--format", "html"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "自定义报告" in (tmp_path / "out2" / "石峰区政协2023年部门整体支出绩效自评报告.html").read_text(encoding="utf-8")


def test_the_store_survives_a_killed_writer(tmp_path):
    """Kill a process while it writes scored tables into SQLite: the store opens, passes its integrity check, and
    every stored submission has all its indicator rows."""
    import random
    import signal
    import sqlite3
    import time

    from evaluator.store import Store

    script = tmp_path / "w.py"
    script.write_text(
        "import sys\n"
        "from evaluator.store import Store\n"
        "from evaluator.tablestats import STATS_COLUMNS, STATS_VERSION\n"
        "store = Store(sys.argv[1])\n"
        "open(sys.argv[2], 'w').close()\n"  # the schema exists: killing from now on hits a write
        "stats = ({'version': STATS_VERSION, **dict.fromkeys(STATS_COLUMNS, 0)}, [])\n"
        "for k in range(1000):\n"
        "    items = [{'submission': {'department': f'd{k}', 'year': 2023, 'table_id': f't{j}', 'inputs_hash': 'h',\n"
        "              'rule_set': 'r'}, 'rows': {'indicators': [(p, None, None, 'x' * 50) + (None,) * 12\n"
        "                                                         for p in range(50)], 'findings': []},\n"
        "              'stats': stats} for j in range(20)]\n"
        "    store.record(items)\n", encoding="utf-8")
    db = tmp_path / "s.db"
    Store(f"sqlite:///{db}").close()  # the schema first: the writer is killed while it records, not while it migrates
    rng = random.Random(1)
    for _ in range(5):
        watch = sqlite3.connect(db)
        before = watch.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
        watch.close()
        ready = tmp_path / "ready"
        ready.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, str(script), f"sqlite:///{db}", str(ready)])
        deadline = time.monotonic() + 120  # start-up is slow on a loaded machine: wait until it has stored a table
        stored = before
        while stored <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            if ready.exists():
                watch = sqlite3.connect(db)
                stored = watch.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
                watch.close()
        time.sleep(rng.random() * 1.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts = con.execute("SELECT s.id, COUNT(i.position) FROM submissions s LEFT JOIN indicators i "
                             "ON i.submission_id = s.id GROUP BY s.id").fetchall()
        assert counts and {n for _, n in counts} == {50}
        con.close()
