"""Benchmark: the finance bureau's batch and compare on a synthetic province (issue 5).

Default: 3,000 departments × 11 tables × 20 indicators ≈ 660,000 indicator rows. Measures, each command in its own
process (so peak memory is the command's own): `evaluator batch` (read + parse + score + store) and
`evaluator compare`; and, for the yardstick, reading the same indicator rows from one CSV with pandas, and the
in-process parse + score of those rows (`score_frame` + `table_totals`).
Usage: python bench/bench_bureau.py [--departments 3000] [--work /tmp/evaluator-bench]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd


def run(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and the command's own peak memory (MB), from /usr/bin/time (GNU time).

    (getrusage in the child would not do: Linux keeps the parent's high-water mark across exec.)"""
    t0 = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "evaluator", *cmd], cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--departments", type=int, default=3000)
    ap.add_argument("--work", default="/tmp/evaluator-bench")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    exe: list[str] = []  # run() starts the evaluator module itself
    t_synth, _ = run([*exe, "synth", "--departments", str(args.departments), "--seed", "1", "-o", "province"], work)

    # the same rows as one CSV, for the pandas yardstick
    rows = []
    for t in sorted((work / "province").rglob("targets.json")):
        try:
            targets = json.loads(t.read_text(encoding="utf-8"))
            actuals = json.loads((t.parent / "actuals.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
        acts = {a["table"]: {x["indicator"]: x for x in a["indicators"]} for a in actuals["tables"]}
        for table in targets["tables"]:
            for k, ind in enumerate(table["indicators"]):
                a = acts.get(table["id"], {}).get(ind["level3"], {})
                rows.append((targets["unit_name"] + "/" + table["id"], k, table["year"], ind["level1"], ind["level2"],
                             ind["level3"], ind["target"], ind.get("weight"), a.get("actual"), a.get("deviation_note"),
                             a.get("claimed_score"), 100.0, 97.0))
    cols = ["table", "position", "year", "level1", "level2", "level3", "target_raw", "weight_given", "actual_raw",
            "deviation_note", "claimed", "budget", "spent"]
    csv = work / "rows.csv"
    pd.DataFrame(rows, columns=cols).to_csv(csv, index=False)
    t0 = time.perf_counter()
    frame = pd.read_csv(csv, dtype={"target_raw": object, "actual_raw": object})
    t_read = time.perf_counter() - t0

    from evaluator import load_rules
    from evaluator.parse import parse_value
    from evaluator.score import score_frame, table_totals

    for c in ("row", "unit_col", "direction", "rate_base", "scoring", "band", "judged_score", "actual_rate_base"):
        frame[c] = None
    frame["has_actual_entry"] = True
    parse_value.cache_clear()
    t0 = time.perf_counter()
    table_totals(score_frame(frame, load_rules()), load_rules())
    t_score = time.perf_counter() - t0

    t_batch, m_batch = run([*exe, "batch", "province"], work)
    t_compare, m_compare = run([*exe, "compare", "-o", "out"], work)
    n = len(frame)
    print(f"province                  {args.departments} departments, {frame['table'].nunique():,} tables, {n:,} rows "
          f"(synth {t_synth:.1f} s)")
    print(f"read rows with pandas     {t_read:7.2f} s  {n / t_read:12,.0f} rows/s")
    print(f"parse + score (in-proc.)  {t_score:7.2f} s  {n / t_score:12,.0f} rows/s")
    print(f"evaluator batch           {t_batch:7.2f} s  {n / t_batch:12,.0f} rows/s   peak {m_batch:,.0f} MB")
    print(f"evaluator compare         {t_compare:7.2f} s                      peak {m_compare:,.0f} MB")


if __name__ == "__main__":
    main()
