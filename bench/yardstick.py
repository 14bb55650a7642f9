"""The yardstick for the command benchmarks: the obvious per-row Python loop over a flat 自评表 CSV.

It does what a programmer would write first to score such a file: ``csv.reader``, ``parse_value`` on the target
and the actual of every row (evaluator's own parser, with its cache), a proportional score against a weight split
evenly over the rows, and the rows with their scores printed as JSON (the C encoder). No checks, no findings, no
explanations — so the commands, which do all of that, are measured against the least a scorer must do.

    python bench/yardstick.py TABLE.csv [--findings]     (--findings: print only the rows it cannot score)
"""
from __future__ import annotations

import csv
import json
import sys

from evaluator.parse import parse_value

HEADER = {"三级指标": "level3", "年度指标值": "target", "实际完成值": "actual", "分值": "weight"}


def main() -> None:
    path = sys.argv[1]
    only_problems = "--findings" in sys.argv[2:]
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        head = next(reader)
        col = {HEADER[h]: k for k, h in enumerate(head) if h in HEADER}
        rows = list(reader)
    weight = 90 / max(len(rows), 1)
    out = []
    for row in rows:
        target, actual = parse_value(row[col["target"]]), parse_value(row[col["actual"]])
        score = None
        if target.value is not None and actual.value is not None:
            if target.comparator is not None and target.comparator.value in ("le", "lt"):
                ratio = target.value / actual.value if actual.value else 1.0
            else:
                ratio = actual.value / target.value if target.value else 1.0
            score = round(min(max(ratio, 0.0), 1.0) * weight, 2)
        elif target.kind.value in ("qualitative", "blank", "deadline"):
            score = round(weight, 2)
        if only_problems and score is not None:
            continue
        out.append({"indicator": row[col["level3"]], "target": row[col["target"]], "actual": row[col["actual"]],
                    "weight": round(weight, 2), "score": score})
    total = sum(r["score"] or 0 for r in out)
    sys.stdout.write(json.dumps({"total": round(total, 2), "indicators": out}, ensure_ascii=False))


if __name__ == "__main__":
    main()
