"""Benchmark: the documents at size — `evaluator report` on one table of 500 and 2,000 indicators, `evaluator
compare` on a province of 3,000 departments, and the web's first comparison view after a change (issue 11: report
≤ 2 s / ≤ 8 s, compare ≤ 5 s; issue 13: the bureau's comparison ≤ 2 s).

The machine is shared (2 cores, several engineers), so each command is timed in turn with a yardstick run at the
same moment, and medians are reported with the ratio:
- report: `evaluator score --json` on the same files (the command that reads and scores what report then lays out);
- compare: pandas reading from the store the indicator columns compare once needed (what a naive comparison reads);
- web view: pandas reading the store's submissions table (one row per table: the least the view can read).
With ``--baseline DIR`` (another checkout, e.g. of the commit before a change) the same commands also run from
that code, alternating with this one, so "before" and "after" share the machine's state (``--baseline-db``: a
store at that code's schema revision, for its compare).

    python bench/bench_documents.py [--runs 3] [--db sqlite:///province.db] [--web] [--baseline DIR --baseline-db URL]
                                    [--skip-report] [--skip-compare]
    (the store: evaluator synth -n 3000 --years 2 -o province && evaluator batch province --db sqlite:///province.db)
"""
from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

EVALUATOR = [sys.executable, "-m", "evaluator"]


def big_table(folder: Path, n: int) -> tuple[Path, Path]:
    """One project table of ``n`` indicators in 3 一级 and n/25 二级 groups, a third of them short of target."""
    rows, acts = [], []
    for k in range(n):
        l1 = "产出指标" if k < n * 0.6 else ("效益指标" if k < n * 0.9 else "满意度指标")
        rows.append({"level1": l1, "level2": f"{l1[:2]}二级{k // 25}", "level3": f"指标{k}", "target": "≥5次"})
        acts.append({"indicator": f"指标{k}", "actual": f"{k % 7}次",
                     **({"deviation_note": "部分任务延期，已制定整改计划。"} if k % 7 < 5 else {})})
    t = {"unit_name": "测试单位", "year": 2023, "tables": [{"id": "t", "kind": "项目", "title": "大表", "unit_name": "测试单位",
                                                         "year": 2023, "indicators": rows}]}
    a = {"unit_name": "测试单位", "year": 2023, "tables": [{"table": "t", "budget": {"budget": 100, "spent": 90},
                                                         "indicators": acts}]}
    tp, ap = folder / f"t{n}.yaml", folder / f"a{n}.yaml"
    tp.write_text(yaml.safe_dump(t, allow_unicode=True), encoding="utf-8")
    ap.write_text(yaml.safe_dump(a, allow_unicode=True), encoding="utf-8")
    return tp, ap


CPU: dict[str, list[float]] = {}  # command label → CPU seconds (user + system, the command and its workers)


def timed(cmd: list[str], code: str | None = None, label: str | None = None) -> float:
    """Wall seconds of one command; its CPU seconds go to ``CPU[label]`` (independent of how loaded the machine
    is, as long as it is not swapping: what an idle 2-core machine would need, at least half of it in wall time)."""
    env = {**os.environ, "PYTHONPATH": code} if code else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label:
        CPU.setdefault(label, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def line(name: str, runs: list[float], yard: list[float], yard_name: str) -> str:
    r, y = statistics.median(runs), statistics.median(yard)
    cpu = f"   CPU {statistics.median(CPU[name]):5.2f} s" if name in CPU else ""
    return (f"{name:<34} median {r:6.2f} s (min {min(runs):.2f}, max {max(runs):.2f}){cpu}   {yard_name} {y:5.2f} s"
            f"   ratio {r / y:4.2f}×")


def pandas_read(path: str, sql: str) -> float:
    import pandas as pd

    t0 = time.perf_counter()
    with sqlite3.connect(path) as con:
        pd.read_sql(sql, con)
    return time.perf_counter() - t0


def web_view(url: str, runs: int) -> None:
    """The web's comparison context computed from the store (what the first view after a submission or a 复核
    score costs; later views are served from it until the store changes), in this process."""
    from evaluator.store import Store
    from evaluator.web import pages

    path = url.removeprefix("sqlite:///")
    with Store(url) as store:
        pages._compare_view(store, None)  # warm-up: imports
        view, yard = [], []
        for _ in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            pages._compare_view(store, None)
            view.append(time.perf_counter() - t0)
            CPU.setdefault("web comparison, first view", []).append(time.process_time() - c0)
            yard.append(pandas_read(path, "SELECT * FROM submissions"))
    print(line("web comparison, first view", view, yard, "pandas read of submissions"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--db", default=None, help="a store holding a province (for compare)")
    ap.add_argument("--web", action="store_true", help="also time the web's comparison view (needs --db)")
    ap.add_argument("--baseline", default=None, help="another checkout to time the same commands from")
    ap.add_argument("--baseline-db", default=None, help="the province store at the baseline's schema revision")
    ap.add_argument("--skip-report", action="store_true")
    ap.add_argument("--skip-compare", action="store_true")
    args = ap.parse_args()
    codes = [("", None)] + ([("baseline ", args.baseline)] if args.baseline else [])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in () if args.skip_report else (500, 2000):
            tp, apath = big_table(folder, n)
            for _, code in codes:
                timed([*EVALUATOR, "report", str(tp), str(apath), "-o", str(folder / "w"), "--force"], code)  # warm-up
            got: dict[str, list[float]] = {label: [] for label, _ in codes}
            score = []
            for _ in range(args.runs):
                for label, code in codes:
                    got[label].append(timed([*EVALUATOR, "report", str(tp), str(apath), "-o", str(folder / f"o{n}"),
                                             "--force"], code, f"{label}report, {n} indicators"))
                score.append(timed([*EVALUATOR, "score", str(tp), str(apath), "--json"], None, f"score {n}"))
            print(f"{'score --json, CPU':<34} median {statistics.median(CPU[f'score {n}']):5.2f} s")
            for label, _ in codes:
                print(line(f"{label}report, {n} indicators", got[label], score, "score --json"))
        if args.db and not args.skip_compare:
            path = args.db.removeprefix("sqlite:///")
            got = {label: [] for label, _ in codes}
            yard = []
            for _ in range(args.runs):
                for label, code in codes:
                    db = args.baseline_db if code else args.db
                    got[label].append(timed([*EVALUATOR, "compare", "--db", db, "-o", str(folder / "bureau")], code,
                                            f"{label}compare, 3,000 departments"))
                yard.append(pandas_read(path, "SELECT submission_id, position, status, score, weight, claimed "
                                              "FROM indicators"))
            for label, _ in codes:
                print(line(f"{label}compare, 3,000 departments", got[label], yard, "pandas read of indicators"))
        if args.db and args.web:  # in this process: run the script with PYTHONPATH=<checkout> for another code
            web_view(args.db, args.runs)


if __name__ == "__main__":
    main()
