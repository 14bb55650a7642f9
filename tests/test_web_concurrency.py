"""Two app processes and a `batch` writing one database at once (SQLite and PostgreSQL): nothing lost, nothing
raised — every acknowledged save is in the store, batch stores every department it read."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import httpx
from sqlalchemy import func, select

from evaluator.schema import entries, entry_changes, submissions
from tests.conftest import ROOT
from tests.test_web import quick_hashes  # noqa: F401  (autouse fixture)
from tests.webkit import PASSWORD, build_world, free_port, serve, wait_for

SEED_FORMS = ROOT / "tests" / "fixtures" / "seed-forms.docx"


def _server(url: str, port: int) -> subprocess.Popen:
    return serve(url, port, ROOT)


def _login(base: str, username: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=base, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 303
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/home").text).group(1)
    return c, csrf


def test_two_app_processes_and_a_batch_lose_nothing(db_url, tmp_path):
    from evaluator.synth import synth_province

    w = build_world(db_url)
    clerk = w.client("clerk-a")
    other = w.client("clerk-b")
    for c, unit in ((clerk, "甲单位"), (other, "乙单位")):
        assert c.form(f"/filings/{w.filings[unit]}/targets",
                      files={"file": ("t.docx", SEED_FORMS.read_bytes())}).status_code == 200
        c.close()
    w.store.close()
    synth_province(tmp_path / "p", departments=30, seed=3, tables=3, indicators=10)
    ports = [free_port(), free_port()]
    servers = [_server(db_url, p) for p in ports]
    acknowledged: list[tuple[int, int, str]] = []
    failures: list[str] = []
    lock = threading.Lock()
    try:
        for p in ports:
            wait_for(p)
        batch = subprocess.Popen([sys.executable, "-W", "error", "-m", "evaluator", "batch", str(tmp_path / "p"),
                                  "--db", db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                                 env={**os.environ, "EVALUATOR_JOBS": "1"})

        def typist(username: str, unit: str, port: int, rounds: int) -> None:
            c, csrf = _login(f"http://127.0.0.1:{port}", username)
            fid = w.filings[unit]
            for k in range(rounds):
                position, value = k % 11, f"{k}次"
                r = c.post(f"/filings/{fid}/entry?table=dept-2023-1", data={f"f-{position}-actual": value},
                           headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
                with lock:
                    if r.status_code == 200:
                        acknowledged.append((fid, position, value))
                    else:
                        failures.append(f"{username} {r.status_code} {r.text[:200]}")
            c.close()

        threads = [threading.Thread(target=typist, args=(u, unit, port, 20))
                   for (u, unit), port in zip((("clerk-a", "甲单位"), ("clerk-b", "乙单位")), ports)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out, err = batch.communicate(timeout=600)
    finally:
        logs = []
        for s in servers:
            s.terminate()
            logs.append(s.communicate(timeout=30))
    assert failures == []
    assert batch.returncode in (0, 1) and "Traceback" not in err.decode(), err.decode()[-2000:]
    assert "已评分" in out.decode(), (batch.returncode, out.decode()[-2000:], err.decode()[-2000:])
    for _, server_err in logs:
        assert b"Traceback" not in server_err and b"Error" not in server_err, server_err.decode()[-2000:]
    from evaluator.store import Store

    with Store(db_url) as store, store.engine.connect() as conn:
        latest = {}
        for fid, position, value in acknowledged:
            latest[(fid, position)] = value
        stored = {(r.filing_id, r.position): r.value for r in conn.execute(
            select(entries.c.filing_id, entries.c.position, entries.c.value).where(entries.c.field == "actual"))}
        assert {k: stored.get(k) for k in latest} == latest
        changes = conn.execute(select(func.count()).select_from(entry_changes).where(
            entry_changes.c.source == "typed")).scalar()
        assert changes == len(acknowledged) == 40
        batched = conn.execute(select(func.count()).select_from(submissions)).scalar()
    scored = int(re.search(r"已评分 (\d+) 张表", out.decode()).group(1))
    assert batched == scored > 0
