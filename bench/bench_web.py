"""Load test of the web application against 127.0.0.1 only: N clerks log in, save entries and view their score
page for a fixed time, on SQLite and on PostgreSQL (a server this script starts and stops); then the bureau's
comparison over a province of 3,000 units.

    python bench/bench_web.py --db sqlite --clerks 50 --seconds 60
    python bench/bench_web.py --db postgresql --clerks 50 --seconds 60 --workers 2
    python bench/bench_web.py --db sqlite --compare 3000 --clerks 0

Reports p50/p95/max latency per request kind, the error count, and checks that every save the server
acknowledged is in the database afterwards. Bounded in time and count; it stops by itself. Not a test.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forty_indicators(unit: str, year: int):
    """A 40-indicator 项目 table: 20 quantity, 15 benefit, 5 satisfaction indicators."""
    from evaluator.model import Indicator, TargetSet, TargetTable

    inds = [Indicator(level1="产出指标", level2="数量指标", level3=f"数量{k}", target=f"≥{k + 2}次") for k in range(20)]
    inds += [Indicator(level1="效益指标", level2="社会效益指标", level3=f"效益{k}", target="有所提升") for k in range(15)]
    inds += [Indicator(level1="满意度指标", level2="服务对象满意度指标", level3=f"满意度{k}", target="≥90%") for k in range(5)]
    table = TargetTable(id="p1", kind="项目", title=f"{unit}项目支出绩效目标表", unit_name=unit, year=year, indicators=inds)
    return TargetSet(unit_name=unit, year=year, tables=[table])


def seed(url: str, clerks: int) -> dict[str, int]:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from evaluator.store import Store
    from evaluator.web import auth
    from evaluator.web import workflow as wf

    # production argon2 parameters for the accounts: logging in costs what it costs in a deployment
    auth._hasher = PasswordHash((Argon2Hasher(),))
    store = Store(url)
    bureau = auth.add_user(store, "bureau", PASSWORD, "bureau")
    units = [f"单位{k:03d}" for k in range(clerks)]
    users = {}
    for name in units:
        wf.add_unit(store, name, "主管部门")
        users[name] = auth.add_user(store, f"clerk{name[2:]}", PASSWORD, "clerk", name)
    task = wf.create_task(store, bureau, 2023, "压力测试", "mof-2020", None,
                          [u["id"] for u in wf.list_units(store) if u["name"] in units])
    fids = {r["unit"]: r["id"] for r in wf.task_filings(store, task)}
    for name in units:
        wf.set_targets(store, users[name], fids[name], forty_indicators(name, 2023), None)
    store.close()
    return {f"clerk{name[2:]}": fids[name] for name in units}


def start_servers(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "EVALUATOR_DB": url}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "evaluator.web.asgi:app", "--host", "127.0.0.1", "--port",
                             str(port), "--workers", str(workers), "--log-level", "warning"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def clerk_loop(base: str, username: str, fid: int, until: float, out: dict, lock: threading.Lock,
               think: float = 0.0) -> None:
    """One clerk: log in, then save a field and look at the score page, again and again, pausing ``think``
    seconds on average between the two (0: as fast as the server answers)."""
    rng = random.Random(username)
    lat: dict[str, list[float]] = {"login": [], "save": [], "score page": [], "static file": []}
    acks, errors = [], []
    with httpx.Client(base_url=base, timeout=60) as c:
        try:
            t = time.perf_counter()
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
            r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
            if r.status_code != 303:
                raise RuntimeError(f"login {r.status_code}")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/home").text).group(1)
            lat["login"].append(time.perf_counter() - t)
            k = 0
            while time.time() < until:
                pos, value = rng.randrange(40), f"{rng.randrange(1, 30)}次" if k % 3 else "有所提升"
                t = time.perf_counter()
                r = c.post(f"/filings/{fid}/entry?table=p1", data={f"f-{pos}-actual": value},
                           headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
                lat["save"].append(time.perf_counter() - t)
                if r.status_code == 200:
                    acks.append((fid, pos, value))
                else:
                    errors.append(f"save {r.status_code}")
                t = time.perf_counter()
                r = c.get(f"/filings/{fid}/entry?table=p1")
                lat["score page"].append(time.perf_counter() - t)
                if r.status_code != 200 or "总分" not in r.text:
                    errors.append(f"score page {r.status_code}")
                if k % 5 == 0:  # the yardstick: the server's cost of a request that does no work
                    t = time.perf_counter()
                    c.get("/static/app.css")
                    lat["static file"].append(time.perf_counter() - t)
                k += 1
                if think:
                    time.sleep(think * (0.5 + rng.random()))
        except Exception as e:  # noqa: BLE001 - counted as an error, reported
            errors.append(f"{type(e).__name__}: {e}")
    with lock:
        for key, v in lat.items():
            out["lat"].setdefault(key, []).extend(v)
        out["acks"].extend(acks)
        out["errors"].extend(errors)


def check_acks(url: str, acks: list[tuple[int, int, str]]) -> int:
    """Every acknowledged save is the stored value (the last acknowledged one per field); returns the misses."""
    from sqlalchemy import select

    from evaluator.schema import entries, entry_changes
    from evaluator.store import Store

    last = {}
    for fid, pos, value in acks:
        last[(fid, pos)] = value
    with Store(url) as store, store.engine.connect() as conn:
        stored = {(r.filing_id, r.position): r.value for r in conn.execute(
            select(entries.c.filing_id, entries.c.position, entries.c.value).where(entries.c.field == "actual"))}
        changes = conn.execute(select(entry_changes.c.id)).all()
    missing = sum(1 for k, v in last.items() if stored.get(k) != v)
    print(f"  acknowledged saves: {len(acks)}; fields checked: {len(last)}; missing or different: {missing}; "
          f"entry changes recorded: {len(changes)}")
    return missing


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def report(lat: dict[str, list[float]]) -> None:
    print(f"  {'request':<12} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for key, v in lat.items():
        print(f"  {key:<12} {len(v):>6} {pct(v, 50) * 1000:>8.0f} {pct(v, 95) * 1000:>8.0f} "
              f"{(max(v) if v else float('nan')) * 1000:>8.0f}")


def compare_phase(url: str, base: str, units: int) -> None:
    """A province of `units` departments stored by batch; the bureau's comparison page and API timed."""
    from evaluator.synth import synth_province

    with tempfile.TemporaryDirectory(prefix="evaluator-bench-") as folder:
        t = time.perf_counter()
        synth_province(Path(folder), units, 1, 2023, 11, 20, 1)
        subprocess.run([sys.executable, "-m", "evaluator", "batch", folder, "--db", url], check=False,
                       capture_output=True, cwd=ROOT)
        print(f"  province of {units} departments stored in {time.perf_counter() - t:.0f} s (synth + batch)")
    with httpx.Client(base_url=base, timeout=600) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        c.post("/login", data={"username": "bureau", "password": PASSWORD, "csrf_token": token})
        lat: dict[str, list[float]] = {"compare api": [], "compare page": []}
        for _ in range(5):
            for key, path in (("compare api", "/api/compare"), ("compare page", "/bureau/compare")):
                t = time.perf_counter()
                r = c.get(path)
                lat[key].append(time.perf_counter() - t)
                assert r.status_code == 200, r.text[:300]
        n = len(c.get("/api/compare").json()["departments"])
    print(f"  departments in the comparison: {n}")
    report(lat)


def engine_yardstick() -> None:
    """The engine alone, in this process, at this moment: scoring the 40-indicator table (what every save and
    score page does once)."""
    from evaluator.evaluation import evaluate
    from evaluator.model import Actual, ActualSet, TableActuals
    from evaluator.rules import load_rules

    targets = forty_indicators("单位", 2023)
    actuals = ActualSet(unit_name="单位", year=2023, tables=[TableActuals(table="p1", indicators=[
        Actual(indicator=i.level3, actual="3次") for i in targets.tables[0].indicators])])
    rules = load_rules("mof-2020")
    evaluate(targets, actuals, rules)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        evaluate(targets, actuals, rules)
        times.append(time.perf_counter() - t)
    print(f"  yardstick: evaluate() of the 40-indicator table in-process: median {statistics.median(times) * 1000:.0f} ms")
    from evaluator.web import auth

    hashed = auth.hash_password(PASSWORD)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        auth.verify_password(PASSWORD, hashed)
        times.append(time.perf_counter() - t)
    print(f"  yardstick: one argon2 password check in-process: median {statistics.median(times) * 1000:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--clerks", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--think", type=float, default=1.0, help="mean pause between a clerk's actions, seconds")
    ap.add_argument("--compare", type=int, default=0, help="then time the comparison of a province this large")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="evaluator-bench-"))
    server = None
    if args.db == "postgresql":
        from tests import pgserver

        server = pgserver.start()
        url = server.create_database("bench")
    else:
        url = f"sqlite:///{folder / 'bench.db'}"
    proc = None
    try:
        t = time.perf_counter()
        fids = seed(url, max(args.clerks, 1))
        print(f"{args.db}: {args.clerks} clerks, {args.seconds} s, think {args.think} s, {args.workers} worker(s); seeded in "
              f"{time.perf_counter() - t:.1f} s; machine: {os.cpu_count()} cores, shared with other work")
        engine_yardstick()
        proc, base = start_servers(url, args.workers)
        if args.clerks:
            out = {"lat": {}, "acks": [], "errors": []}
            lock = threading.Lock()
            until = time.time() + args.seconds
            threads = [threading.Thread(target=clerk_loop, args=(base, u, fid, until, out, lock, args.think))
                       for u, fid in list(fids.items())[:args.clerks]]
            for th in threads:
                th.start()
            for th in threads:
                th.join(timeout=args.seconds + 300)
            report(out["lat"])
            print(f"  errors: {len(out['errors'])} {sorted(set(out['errors']))[:5]}")
            check_acks(url, out["acks"])
        if args.compare:
            compare_phase(url, base, args.compare)
    finally:
        if proc is not None:
            proc.terminate()
            _, err = proc.communicate(timeout=60)
            if b"Traceback" in err:
                print("server errors:\n" + err.decode()[-3000:])
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
