"""Benchmark: parse + score throughput on a large synthetic indicator table (not run by the tests).

Builds N indicator rows in tables of 20 (real 指标值 formats, actuals with shortfalls, some words and blanks),
writes them to CSV, then times: reading the CSV with pandas; parse + score (``score_frame``); table totals.
Usage: python bench/bench_score.py [--rows 600000] [--rules mof-2020]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time

import numpy as np
import pandas as pd

from evaluator import load_rules
from evaluator.parse import parse_value
from evaluator.score import clear_caches, score_frame
from evaluator.totals import table_totals

TARGETS = [  # (level1, level2, target text, unit for generated actuals, base value)
    ("产出指标", "数量指标", "≥{v}次", "次", 5), ("产出指标", "数量指标", "{v}个", "个", 20),
    ("产出指标", "数量指标", "不少于{v}人", "人", 2000), ("产出指标", "数量指标", "≧{v}人次", "人次", 735),
    ("产出指标", "质量指标", "≥{v}%", "%", 95), ("产出指标", "质量指标", "═100%", "%", 100),
    ("产出指标", "质量指标", "", None, None), ("产出指标", "时效指标", "2023年底", "deadline", None),
    ("产出指标", "时效指标", "12月底前", "deadline", None), ("产出指标", "成本指标", "≤{v}万元", "万元", 90),
    ("产出指标", "成本指标", "{v}万", "万", 31.5), ("效益指标", "经济效益指标", "持续促进", "qual", None),
    ("效益指标", "社会效益指标", "有所提升", "qual", None), ("效益指标", "社会效益指标", "≥{v}%", "%", 90),
    ("效益指标", "生态效益指标", "无", "na", None), ("效益指标", "可持续影响指标", "良好", "qual", None),
    ("效益指标", "社会效益指标", "投诉率≤{v}%", "%", 2), ("满意度指标", "服务对象满意度指标", "≥{v}%", "%", 90),
    ("满意度指标", "服务对象满意度指标", "100%", "%", 100), ("产出指标", "数量指标", "4次/年/界别", "rate", 4),
]
QUAL_ACTUALS = ["达成", "有所提升", "达成预期指标", "部分达成", "良好", "持续促进", "完成"]


def synth(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per_table = len(TARGETS)
    n_tables = rows // per_table
    recs = []
    for t in range(n_tables):
        budget = float(rng.integers(10, 2000))
        spent = round(budget * float(rng.uniform(0.6, 1.05)), 2)
        for k, (l1, l2, pattern, unit, base) in enumerate(TARGETS):
            v = None if base is None else round(base * float(rng.choice([1, 1, 1, 2, 0.5])), 1)
            target = pattern.format(v=f"{v:g}") if v is not None else pattern
            if unit == "deadline":
                actual = rng.choice(["2023年12月", "2023年11月30日", "2024年1月", "按期完成"])
            elif unit == "qual":
                actual = QUAL_ACTUALS[int(rng.integers(len(QUAL_ACTUALS)))]
            elif unit == "na":
                actual = "无"
            elif unit == "rate":
                actual = f"{int(rng.integers(30, 48))}次"
            elif unit is None:
                actual = "达成"
            else:
                x = v * float(rng.uniform(0.7, 1.3))
                places = {"%": 1, "万元": 2, "万": 2}.get(unit, 0)  # counts are whole numbers; money to the cent
                actual = f"{x:.{places}f}{unit if rng.random() < 0.8 else ''}"
            if rng.random() < 0.01:
                actual = ""  # a missing actual now and then
            recs.append((f"d{t // 11}/t{t}", k, None, 2023, l1, l2, f"指标{k}", target, None, None, None, None, None,
                         actual, None, None, None, None, 11.0 if unit == "rate" else None, True, budget, spent))
    cols = ["table", "position", "row", "year", "level1", "level2", "level3", "target_raw", "unit_col", "weight_given",
            "direction", "rate_base", "scoring", "actual_raw", "deviation_note", "band", "judged_score", "claimed",
            "actual_rate_base", "has_actual_entry", "budget", "spent"]
    return pd.DataFrame.from_records(recs, columns=cols)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=600_000)
    ap.add_argument("--rules", default="mof-2020")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    rules = load_rules(args.rules)
    frame = synth(args.rows)
    n = len(frame)
    t_read, t_score, t_totals = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rows.csv")
        frame.to_csv(path, index=False)
        for _ in range(args.reps):  # read and score alternate: each pair runs under the same machine conditions
            t0 = time.perf_counter()
            read = pd.read_csv(path, dtype={"target_raw": str, "actual_raw": str, "unit_col": str})
            t_read.append(time.perf_counter() - t0)
            read = read.astype({c: object for c in ("target_raw", "actual_raw")})
            clear_caches()  # every distinct string parsed again: a cold start each time
            t0 = time.perf_counter()
            scored = score_frame(read, rules)
            t_score.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            totals = table_totals(scored, rules)
            t_totals.append(time.perf_counter() - t0)
    info = parse_value.cache_info()
    r, s, t = (statistics.median(x) for x in (t_read, t_score, t_totals))
    print(f"rows                      {n:,} in {len(totals):,} tables (medians of {args.reps} runs)")
    print(f"distinct strings parsed   {info.currsize:,} by the general parser (the rest by the one-regex path)")
    print(f"read CSV with pandas      {r:6.2f} s  {n / r:12,.0f} rows/s")
    print(f"parse + score             {s:6.2f} s  {n / s:12,.0f} rows/s")
    print(f"table totals              {t:6.2f} s")
    print(f"parse + score + totals    {s + t:6.2f} s  {n / (s + t):12,.0f} rows/s")
    print(f"statuses                  {scored['status'].value_counts().to_dict()}")
    print(f"peak memory               {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
