"""Benchmark: one department's full report set (issue 3; target ≤ 1 s).

The seed department has three scored tables; each gets 自评表 xlsx + docx and 自评报告 html + docx + pdf with
three charts (15 files). Measures, after one warm-up run that also builds the PDF font cache:
- in-process generation time (imports done), with the default worker processes and with one process;
- the whole `evaluator report` command from a cold start (interpreter, imports, scoring, writing).
Usage: python bench/bench_report.py [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evaluator import evaluate, inputs_hash, load_actuals, load_rules, load_targets
from evaluator.report import write_reports

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "data" / "targets" / "shifeng-cppcc-2023.yaml"
ACTUALS = ROOT / "data" / "actuals" / "shifeng-cppcc-2023.yaml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rules = load_rules()
    targets, actuals = load_targets(TARGETS), load_actuals(ACTUALS)
    ev = evaluate(targets, actuals, rules, inputs_hash=inputs_hash(TARGETS, ACTUALS))
    with tempfile.TemporaryDirectory() as tmp:
        files = write_reports(targets, actuals, ev, rules, tmp)  # warm-up (imports, font cache)
        timings = {}
        for label, jobs in (("default workers", None), ("one process", 1)):
            runs = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                write_reports(targets, actuals, ev, rules, tmp, jobs=jobs)
                runs.append(time.perf_counter() - t0)
            timings[label] = runs
        cli = []
        for _ in range(max(1, args.runs // 2)):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "evaluator", "report", str(TARGETS), str(ACTUALS), "-o", tmp],
                           check=True, capture_output=True)
            cli.append(time.perf_counter() - t0)
    print(f"files per run             {len(files)} ({len(ev.tables)} tables)")
    for label, runs in timings.items():
        print(f"in-process, {label:15s} median {statistics.median(runs):.3f} s  (min {min(runs):.3f}, max {max(runs):.3f})")
    print(f"evaluator report (cold)   median {statistics.median(cli):.3f} s  (min {min(cli):.3f}, max {max(cli):.3f})")


if __name__ == "__main__":
    main()
