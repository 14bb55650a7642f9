"""The per-table figures the store keeps (``tablestats``): computed at record time from columns, they are those
computed from the stored rows for a submission stored without them."""
from __future__ import annotations

import struct

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator.errors import Code
from evaluator.tablestats import INDICATOR_COLUMNS, STOCK_PHRASES, as_rows, group_rows, group_sums, indicator_stats, stats_of

NUMBERS = st.one_of(st.none(), st.sampled_from([0.0, -0.0, 0.1, 0.2, 0.3, 1e16, -1e16, 2.675, 1.005, float("nan")]),
                    st.floats(-1e6, 1e6))
ROW = st.fixed_dictionaries({
    "submission_id": st.sampled_from([3, 3, 3, 5, 11]), "status": st.sampled_from(["ok", "ok", "na", "error"]),
    "score": NUMBERS, "weight": NUMBERS, "claimed": NUMBERS, "qualitative": st.sampled_from([0, 1]),
    "actual": st.one_of(st.none(), st.sampled_from([*sorted(STOCK_PHRASES)[:4], " 达 成 ", "部分达成", "12", ""])),
    "group_key": st.sampled_from([None, "output", "output", "benefit", "其他"]),
})
FINDING = st.tuples(st.sampled_from([3, 5, 7, 11, 13]),
                    st.sampled_from([Code.MISSING_DEVIATION_NOTE.value, Code.WORD_ACTUAL.value, Code.MISSING_ACTUAL.value]))


def _bits(rows: list[dict]) -> list[tuple]:
    """Rows with each float as its bytes (−0.0 apart from 0.0, NaN comparable)."""
    return [tuple((k, struct.pack("<d", v) if isinstance(v, float) else (type(v), v)) for k, v in r.items()) for r in rows]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=80), found=st.lists(FINDING, max_size=10),
       ids=st.lists(st.sampled_from([3, 5, 7, 11, 13]), min_size=1, max_size=5, unique=True))
def test_figures_from_columns_are_those_from_the_rows_to_the_bit(rows, found, ids):
    """``stats_of`` (``batch``, from the scored columns) gives what ``indicator_stats`` and ``group_sums`` (the view,
    from stored rows) give: every count, every sum to the bit — pandas' compensated sums in the rows' order —
    for submissions with no rows, rows of submissions not asked for, and missing numbers and groups."""
    columns = {c: [r[c] for r in rows] for c in INDICATOR_COLUMNS}
    stats, groups = stats_of(columns, found, ids)
    inds = pd.DataFrame(columns, columns=list(INDICATOR_COLUMNS))
    fnd = pd.DataFrame.from_records(found, columns=["submission_id", "code"])
    assert _bits(stats) == _bits(as_rows(indicator_stats(inds, fnd), ids))
    assert _bits(groups) == _bits(group_rows(group_sums(inds)))
