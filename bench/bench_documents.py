"""Benchmark: the documents at size — `evaluator report` on one table of 500 and 2,000 indicators, and `evaluator
compare` on a province of 3,000 departments (issue 11; targets ≤ 2 s / ≤ 8 s and ≤ 5 s).

The machine is shared (2 cores, several engineers), so each command is timed in turn with a yardstick run at the
same moment, and medians are reported with the ratio:
- report: `evaluator score --json` on the same files (the command that reads and scores what report then lays out);
- compare: pandas reading from the store the indicator columns compare needs (the least it must read).

    python bench/bench_documents.py [--runs 3] [--db sqlite:///province.db]   (the store: synth -n 3000 + batch)
"""
from __future__ import annotations

import argparse
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


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--db", default=None, help="a store holding a province (for compare)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in (500, 2000):
            tp, apath = big_table(folder, n)
            timed([*EVALUATOR, "report", str(tp), str(apath), "-o", str(folder / "w"), "--force"])  # warm-up
            report, score = [], []
            for _ in range(args.runs):
                report.append(timed([*EVALUATOR, "report", str(tp), str(apath), "-o", str(folder / f"o{n}"),
                                     "--force"]))
                score.append(timed([*EVALUATOR, "score", str(tp), str(apath), "--json"]))
            r, s = statistics.median(report), statistics.median(score)
            print(f"report, {n:5d} indicators  median {r:6.2f} s (min {min(report):.2f}, max {max(report):.2f})   "
                  f"score --json {s:5.2f} s   ratio {r / s:4.1f}×")
        if args.db:
            path = args.db.removeprefix("sqlite:///")
            comp, yard = [], []
            for _ in range(args.runs):
                comp.append(timed([*EVALUATOR, "compare", "--db", args.db, "-o", str(folder / "bureau")]))
                t0 = time.perf_counter()
                import pandas as pd

                with sqlite3.connect(path) as con:
                    pd.read_sql("SELECT submission_id, position, status, score, weight, claimed FROM indicators", con)
                yard.append(time.perf_counter() - t0)
            c, y = statistics.median(comp), statistics.median(yard)
            print(f"compare                  median {c:6.2f} s (min {min(comp):.2f}, max {max(comp):.2f})   "
                  f"pandas read {y:5.2f} s   ratio {c / y:4.1f}×")


if __name__ == "__main__":
    main()
