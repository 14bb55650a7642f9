"""Benchmark: reading data files (YAML and JSON) as data (issue 10 §4).

The reader keeps YAML plain scalars as text, refuses aliases, duplicate keys and deep nesting, and for JSON detects
duplicate keys. Each is measured against the loader it replaced, alternating in the same process (the machine is
shared: medians of ``--reps`` runs of ``--n`` loads each), on the seed department's targets and actuals:
- YAML: ``parse_data`` vs ``yaml.safe_load`` (the old reader) and ``yaml.load(CSafeLoader)`` (libyaml, 1.1 types);
- JSON: ``json.loads`` with the duplicate-key hook + ``model_validate`` (now) vs ``model_validate_json`` (before).
Usage: python bench/bench_load.py [--n 50] [--reps 7]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import yaml

from evaluator.load import parse_data
from evaluator.model import ActualSet, TargetSet

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "data" / "targets" / "shifeng-cppcc-2023.yaml"
ACTUALS = ROOT / "data" / "actuals" / "shifeng-cppcc-2023.yaml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    texts = [TARGETS.read_text(encoding="utf-8"), ACTUALS.read_text(encoding="utf-8")]
    models = [TargetSet, ActualSet]
    jsons = [json.dumps(_plain(yaml.safe_load(t)), ensure_ascii=False) for t in texts]
    cases = {
        "YAML parse_data (now)": lambda: [parse_data(t, "x") for t in texts],
        "YAML yaml.safe_load (before)": lambda: [yaml.safe_load(t) for t in texts],
        "YAML CSafeLoader (libyaml, YAML 1.1 types)": lambda: [yaml.load(t, Loader=yaml.CSafeLoader) for t in texts],
        "YAML parse_data + validate (now)": lambda: [m.model_validate(parse_data(t, "x")) for m, t in zip(models, texts)],
        "YAML safe_load + validate (before)": lambda: [m.model_validate(yaml.safe_load(t)) for m, t in zip(models, texts)],
        "JSON parse_data + validate (now)": lambda: [m.model_validate(parse_data(j, "x", as_json=True))
                                                     for m, j in zip(models, jsons)],
        "JSON model_validate_json (before)": lambda: [m.model_validate_json(j) for m, j in zip(models, jsons)],
    }
    runs: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.reps):
        for name, f in cases.items():  # alternating: every case meets the same machine conditions
            start = time.perf_counter()
            for _ in range(args.n):
                f()
            runs[name].append((time.perf_counter() - start) / args.n * 1e3)
    base = statistics.median(runs["YAML yaml.safe_load (before)"])
    print(f"seed targets + actuals ({sum(map(len, texts)):,} characters), ms per pair, median of {args.reps}:")
    for name, r in runs.items():
        m = statistics.median(r)
        print(f"  {name:45s} {m:7.2f} ms   ({m / base:.2f}× yaml.safe_load)")


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return x if x is None or isinstance(x, (str, int, float)) else str(x)


if __name__ == "__main__":
    main()
