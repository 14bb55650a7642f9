"""Benchmark: the beyond-the-platform commands on the seed department, as ratios to scoring it (issue 15).

Each step runs in process (imports done), alternating with the yardstick — ``evaluate`` of the same department —
so both see the same machine conditions; medians of ``--runs`` rounds are reported, with the ratio.
- points lost (``point_losses``: one scoring pass and one confirming what-if), and the report's cheaper form
  (``table_losses(confirm=False)`` per table);
- a what-if with two settings (``parse_settings`` + ``run_whatif``: two evaluations);
- 目标审核 of the targets (``review_targets``, with last year's actuals);
- monitoring at July (``monitor``) and writing the 监控表 (xlsx + docx);
- the 进度填报表: writing it pre-filled, and reading it back (``write_progress_workbook`` / ``read_progress_workbook``);
- the 自评报告 with the monitoring look back (``report --monitor``: the three tables' HTML) against without it;
- year on year for one unit over three years in a store (``unit_trend``), and its charts.
Usage: python bench/bench_beyond.py [--runs 7]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from evaluator import evaluate, load_actuals, load_rules, load_targets

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "data" / "targets" / "shifeng-cppcc-2023.yaml"
ACTUALS = ROOT / "data" / "actuals" / "shifeng-cppcc-2023.yaml"
PROGRESS = ROOT / "data" / "progress" / "shifeng-cppcc-2023-07.yaml"


def main() -> None:
    from evaluator.bureau import batch
    from evaluator.losses import point_losses, table_losses
    from evaluator.monitor import (
        followup_context, load_progress, monitor, monitor_context, write_monitor_docx, write_monitor_xlsx,
    )
    from evaluator.monitor_workbook import read_progress_workbook, write_progress_workbook
    from evaluator.report import render_documents
    from evaluator.store import Store
    from evaluator.target_review import load_review_rules, previous_from_actuals, review_targets
    from evaluator.trend import trend_charts, unit_trend
    from evaluator.whatif import parse_settings, run_whatif

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    rules, review = load_rules(), load_review_rules()
    targets, actuals, progress = load_targets(TARGETS), load_actuals(ACTUALS), load_progress(PROGRESS)
    previous = previous_from_actuals(actuals.model_copy(update={"year": 2022}))
    tmp = Path(tempfile.mkdtemp(prefix="bench-beyond-"))
    for year in (2021, 2022, 2023):
        folder = tmp / "p" / "石峰区政协" / str(year)
        folder.mkdir(parents=True)
        (folder / "targets.yaml").write_text(TARGETS.read_text(encoding="utf-8").replace("2023", str(year)), "utf-8")
        (folder / "actuals.yaml").write_text(ACTUALS.read_text(encoding="utf-8").replace("2023", str(year)), "utf-8")
    store = Store(f"sqlite:///{tmp / 'e.db'}")
    batch(tmp / "p", rules, store)

    def files() -> None:
        ctx = monitor_context(monitor(targets, progress, rules))
        write_monitor_xlsx(ctx, tmp / "m.xlsx")
        write_monitor_docx(ctx, tmp / "m.docx")

    book = write_progress_workbook(targets, 7, tmp / "progress.xlsx", progress)
    ev = evaluate(targets, actuals, rules)

    def write_book() -> None:
        (tmp / "p2.xlsx").unlink(missing_ok=True)
        write_progress_workbook(targets, 7, tmp / "p2.xlsx", progress)

    steps = {
        "point_losses (confirmed)": lambda: point_losses(targets, actuals, rules),
        "table_losses ×3 (report)": lambda: [table_losses(t, actuals, rules, confirm=False)
                                             for t in targets.tables if t.indicators],
        "whatif, 2 settings": lambda: run_whatif(targets, actuals, rules, parse_settings(
            targets, actuals, ["政协主席会议=5次", "执行率=95%"], table="dept-2023")),
        "review_targets": lambda: review_targets(targets, rules, review, previous=previous),
        "monitor": lambda: monitor(targets, progress, rules),
        "monitor + 监控表 files": files,
        "进度填报表 write": write_book,
        "进度填报表 read": lambda: read_progress_workbook(book, targets),
        "自评报告 html ×3": lambda: render_documents(targets, actuals, ev, rules, ("html",)),
        "自评报告 html ×3 --monitor": lambda: render_documents(
            targets, actuals, ev, rules, ("html",), monitoring=followup_context(monitor(targets, progress, rules), ev)),
        "unit_trend (3 years)": lambda: unit_trend(store, "石峰区政协", rules),
        "trend charts": lambda: trend_charts(unit_trend(store, "石峰区政协", rules)),
    }
    yardstick = lambda: evaluate(targets, actuals, rules)  # noqa: E731
    for fn in (yardstick, *steps.values()):
        fn()  # warm-up: imports, font, caches
    print("machine shared with other engineers: read the ratios, not the absolute times")
    print(f"{'step':28} {'median s':>9} {'evaluate s':>11} {'ratio':>7}")
    for name, fn in steps.items():
        mine, base = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            yardstick()
            base.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            fn()
            mine.append(time.perf_counter() - t0)
        m, b = statistics.median(mine), statistics.median(base)
        print(f"{name:28} {m:9.4f} {b:11.4f} {m / b:7.1f}")
    store.close()


if __name__ == "__main__":
    main()
