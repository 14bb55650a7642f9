"""Benchmark: the finance bureau's batch and compare on a synthetic province (issue 5).

Default: 3,000 departments × 11 tables × 20 indicators ≈ 660,000 indicator rows. Measures, each command in its own
process (peak memory: the command's processes together): `evaluator batch` (read + parse + score + store) and
`evaluator compare`. Yardsticks, in this process: reading the same indicator rows with pandas — from one CSV (the
fastest way pandas reads them) and from the submission files themselves — against the in-process parse + score of
those rows (`score_frame` + `table_totals`). Read and score alternate ``--reps`` times (the machine's speed drifts;
each pair runs under the same conditions) and the medians are compared.
Usage: python bench/bench_bureau.py [--departments 3000] [--reps 5] [--work /tmp/evaluator-bench]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

COLUMNS = ["table", "position", "year", "level1", "level2", "level3", "target_raw", "weight_given", "actual_raw",
           "deviation_note", "claimed", "budget", "spent"]


def run(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and peak memory (MB) of an evaluator command: the highest sum of resident memory over the command's
    process and its worker processes, sampled every 50 ms from /proc (GNU time's %M would give the largest single
    process only)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "evaluator", *cmd], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.05)
    return time.perf_counter() - t0, peak / 2**20


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * page
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in tree)


def submission_rows(province: Path) -> list[tuple]:
    """Every indicator row of the province's submissions (targets joined with actuals), as the CSV holds them."""
    rows = []
    for t in sorted(province.rglob("targets.json")):
        try:
            targets = json.loads(t.read_text(encoding="utf-8"))
            actuals = json.loads((t.parent / "actuals.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue  # the deliberately broken files
        acts = {a["table"]: {x["indicator"]: x for x in a["indicators"]} for a in actuals["tables"]}
        for table in targets["tables"]:
            for k, ind in enumerate(table["indicators"]):
                a = acts.get(table["id"], {}).get(ind["level3"], {})
                rows.append((targets["unit_name"] + "/" + table["id"], k, table["year"], ind["level1"], ind["level2"],
                             ind["level3"], ind["target"], ind.get("weight"), a.get("actual"), a.get("deviation_note"),
                             a.get("claimed_score"), 100.0, 97.0))
    return rows


def read_csv(path: Path) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    frame = pd.read_csv(path, dtype={"target_raw": object, "actual_raw": object})
    return time.perf_counter() - t0, frame


def read_submissions(province: Path) -> tuple[float, int]:
    """pandas reading the submission files batch reads: each department's targets and actuals JSON, flattened."""
    t0 = time.perf_counter()
    n = 0
    for t in sorted(province.rglob("targets.json")):
        try:
            targets = pd.json_normalize(json.loads(t.read_bytes())["tables"], "indicators", ["id", "year"])
            actuals = pd.json_normalize(json.loads((t.parent / "actuals.json").read_bytes())["tables"], "indicators",
                                        ["table"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
        n += len(targets.merge(actuals, left_on=["id", "level3"], right_on=["table", "indicator"], how="left"))
    return time.perf_counter() - t0, n


def score_once(frame: pd.DataFrame) -> float:
    from evaluator import load_rules
    from evaluator.score import clear_caches, score_frame
    from evaluator.totals import table_totals

    rules = load_rules()
    clear_caches()  # parse every distinct string again: each run is a cold start
    t0 = time.perf_counter()
    table_totals(score_frame(frame, rules), rules)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--departments", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--work", default="/tmp/evaluator-bench")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t_synth, _ = run(["synth", "--departments", str(args.departments), "--seed", "1", "-o", "province"], work)

    csv = work / "rows.csv"
    pd.DataFrame(submission_rows(work / "province"), columns=COLUMNS).to_csv(csv, index=False)
    reads, scores = [], []
    for _ in range(args.reps):
        t_read, frame = read_csv(csv)
        for c in ("row", "unit_col", "direction", "rate_base", "scoring", "band", "judged_score", "actual_rate_base"):
            frame[c] = None
        frame["has_actual_entry"] = True
        reads.append(t_read)
        scores.append(score_once(frame))
    n = len(frame)
    t_files, n_files = read_submissions(work / "province")

    t_batch, m_batch = run(["batch", "province"], work)
    t_compare, m_compare = run(["compare", "-o", "out"], work)
    print(f"province                  {args.departments} departments, {frame['table'].nunique():,} tables, {n:,} rows "
          f"(synth {t_synth:.1f} s)")
    for k, (r, s) in enumerate(zip(reads, scores), 1):
        print(f"  run {k}: read CSV {r:5.2f} s, parse + score {s:5.2f} s  ({s / r:.2f}×)")
    r, s = statistics.median(reads), statistics.median(scores)
    print(f"read rows from CSV        {r:7.2f} s  {n / r:12,.0f} rows/s   (median of {args.reps})")
    print(f"parse + score (in-proc.)  {s:7.2f} s  {n / s:12,.0f} rows/s   (median of {args.reps}; {s / r:.2f}× the CSV read)")
    print(f"read submission files     {t_files:7.2f} s  {n_files / t_files:12,.0f} rows/s   (pandas json_normalize, {n_files:,} rows)")
    print(f"evaluator batch           {t_batch:7.2f} s  {n / t_batch:12,.0f} rows/s   peak {m_batch:,.0f} MB")
    print(f"evaluator compare         {t_compare:7.2f} s                      peak {m_compare:,.0f} MB")


if __name__ == "__main__":
    main()
