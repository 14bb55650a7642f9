"""evaluator — 预算绩效自评 scoring engine: 绩效目标表 + 实际完成值 → explained scores.

The public names are imported on first use (PEP 562): ``import evaluator`` and ``evaluator --help`` do not load
pandas, numpy and the models until a command or a caller needs them."""
from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_WHERE = {  # public name → the module that defines it
    "Code": "errors", "EvaluatorError": "errors", "InputFileError": "errors", "RuleSetError": "errors",
    "inputs_hash": "load", "load_actuals": "load", "load_targets": "load", "read_flat_table": "load",
    **{name: "model" for name in ("Actual", "ActualSet", "Evaluation", "Finding", "Indicator", "IndicatorScore",
                                  "Location", "ParsedValue", "TableEvaluation", "TargetSet", "TargetTable")},
    "parse_value": "parse",
    "RuleSet": "rules", "list_rule_sets": "rules", "load_rules": "rules",
    "evaluate": "evaluation",
    "indicator_frame": "frame",
    "score_frame": "score",
    "table_totals": "totals",
    "evaluation_json": "output", "write_atomic": "output",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
