"""The findings on indicator rows (``findings``): only the rows ``finding_rows`` picks are built, and a batch's
``FindingRow`` is the ``Finding`` it stands for."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from evaluator.columns import records
from evaluator.findings import ROW_COLUMNS, finding_row, finding_rows, row_findings
from evaluator.frame import FRAME_COLUMNS, Files, rows_frame
from evaluator.score import score_frame

from .test_explain import VARIANTS, row

# the rows of test_explain, with the 偏差原因 and 自评得分 the row findings read (blank, whitespace, a claim close to
# the score or far from it)
entered = st.fixed_dictionaries({"deviation_note": st.sampled_from([None, "", "  ", "\u3000", "已说明", " 原因 "]),
                                 "claimed": st.sampled_from([None, None, 0.0, 2.0, 4.995, 5.0, 8.0, 10.0, -1.0])})


def _frame(rows: list[tuple[dict, dict]]):
    return rows_frame([tuple({**r, **e, "position": k, "row": k + 2, "has_actual_entry": True}[c] for c in FRAME_COLUMNS)
                       for k, (r, e) in enumerate(rows)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.lists(st.tuples(row, entered), min_size=1, max_size=40), which=st.integers(0, len(VARIANTS) - 1))
def test_the_rows_picked_give_every_finding_and_a_finding_row_is_its_finding(rows, which):
    """``row_findings`` of the rows ``finding_rows`` picks is ``row_findings`` of every row (the test of a blank
    note and of a claim beyond the tolerance made column-wise as the loop makes them); with ``finding_row`` each
    finding is its code, severity, message and location dict, as the store writes them."""
    rules = VARIANTS[which]
    scored = score_frame(_frame(rows), rules)
    files = Files("t.yaml", "a.yaml")
    every = row_findings(records(scored, ROW_COLUMNS), rules, files, {})
    picked = finding_rows(scored, rules)
    assert [f.model_dump() for f in row_findings(records(scored, ROW_COLUMNS, picked), rules, files, {})] == \
        [f.model_dump() for f in every]
    assert row_findings(records(scored, ROW_COLUMNS, picked), rules, files, {}, finding_row) == \
        [(f.code, f.severity, f.message, f.location.model_dump(exclude_none=True)) for f in every]
