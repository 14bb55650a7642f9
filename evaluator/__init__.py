"""evaluator — 预算绩效自评 scoring engine: 绩效目标表 + 实际完成值 → explained scores."""
from __future__ import annotations

from .errors import Code, EvaluatorError, InputFileError, RuleSetError
from .load import inputs_hash, load_actuals, load_targets, read_flat_table
from .model import (
    Actual, ActualSet, Evaluation, Finding, Indicator, IndicatorScore, Location, ParsedValue, TableEvaluation,
    TargetSet, TargetTable,
)
from .parse import parse_value
from .rules import RuleSet, list_rule_sets, load_rules
from .evaluation import evaluate
from .frame import indicator_frame
from .score import score_frame
from .totals import table_totals
from .output import evaluation_json, write_atomic

__version__ = "0.1.0"

__all__ = [
    "Actual", "ActualSet", "Code", "Evaluation", "EvaluatorError", "Finding", "Indicator", "IndicatorScore",
    "InputFileError", "Location", "ParsedValue", "RuleSet", "RuleSetError", "TableEvaluation", "TargetSet",
    "TargetTable", "evaluate", "evaluation_json", "indicator_frame", "inputs_hash", "list_rule_sets", "load_actuals",
    "load_rules", "load_targets", "parse_value", "read_flat_table", "score_frame", "table_totals", "write_atomic",
]
