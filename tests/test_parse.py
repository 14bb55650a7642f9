"""指标值 parser: a table of real strings (seed, published 自评表, domain.md §4) with their expected parse."""
from __future__ import annotations

import pytest

from evaluator.model import Band, Comparator as C, ValueKind as K
from evaluator.parse import chinese_number, classify_phrase, normalise_unit, parse_value

GE, GT, LE, LT, EQ, BAND = C.GE, C.GT, C.LE, C.LT, C.EQ, C.BAND
N, R, D, Q, NA, B, U = K.NUMBER, K.RATE, K.DEADLINE, K.QUALITATIVE, K.NOT_APPLICABLE, K.BLANK, K.UNREADABLE

# (text, kind, comparator, value, unit)
NUMBERS = [
    # the seed
    ("1次", N, None, 1, "次"),
    ("≥5次", N, GE, 5, "次"),
    ("2个", N, None, 2, "个"),
    ("4个", N, None, 4, "个"),
    ("≤50个", N, LE, 50, "个"),
    ("3个", N, None, 3, "个"),
    ("10个", N, None, 10, "个"),
    ("20个", N, None, 20, "个"),
    ("100%", N, None, 100, "%"),
    ("528.244101万", N, None, 5282441.01, None),
    ("31.5万", N, None, 315000, None),
    ("53.1万", N, None, 531000, None),
    # published 自评表 (cases/)
    ("≥50个", N, GE, 50, "个"),
    ("≥100百分比", N, GE, 100, "%"),
    ("≤90万元", N, LE, 900000, "元"),
    ("90%", N, None, 90, "%"),
    ("≧735人次", N, GE, 735, "人次"),
    ("≧100%", N, GE, 100, "%"),
    ("═100%", N, EQ, 100, "%"),
    ("≧95%", N, GE, 95, "%"),
    ("98%", N, None, 98, "%"),
    ("2370人", N, None, 2370, "人"),
    ("15万元", N, None, 150000, "元"),
    ("35万元", N, None, 350000, "元"),
    ("14.8万元", N, None, 148000, "元"),
    ("38508人", N, None, 38508, "人"),
    ("12次", N, None, 12, "次"),
    ("96次", N, None, 96, "次"),
    ("100.00%", N, None, 100, "%"),
    ("97.30%", N, None, 97.3, "%"),
    ("8例", N, None, 8, "例"),
    ("﹦72890元", N, EQ, 72890, "元"),
    ("﹦100%", N, EQ, 100, "%"),
    ("≥95%", N, GE, 95, "%"),
    ("72890", N, None, 72890, None),
    ("735", N, None, 735, None),
    ("50", N, None, 50, None),
    # operators in all their spellings
    (">=95%", N, GE, 95, "%"),
    ("＞=95%", N, GE, 95, "%"),
    ("≥=90%", N, GE, 90, "%"),
    ("⩾90%", N, GE, 90, "%"),
    ("不低于95%", N, GE, 95, "%"),
    ("不少于50个", N, GE, 50, "个"),
    ("至少3次", N, GE, 3, "次"),
    ("达到100%", N, GE, 100, "%"),
    ("95%以上", N, GE, 95, "%"),
    ("98%及以上", N, GE, 98, "%"),
    ("98%以上（含）", N, GE, 98, "%"),
    ("大于等于90%", N, GE, 90, "%"),
    ("<=5%", N, LE, 5, "%"),
    ("≦3%", N, LE, 3, "%"),
    ("不超过30万元", N, LE, 300000, "元"),
    ("不高于5%", N, LE, 5, "%"),
    ("不多于2次", N, LE, 2, "次"),
    ("控制在30万元以内", N, LE, 300000, "元"),
    ("控制在5%以内", N, LE, 5, "%"),
    ("控制在100万元内", N, LE, 1000000, "元"),
    ("10天以内", N, LE, 10, "天"),
    ("3个工作日内", N, LE, 3, "天"),
    ("5%以下", N, LE, 5, "%"),
    ("＞90%", N, GT, 90, "%"),
    (">90%", N, GT, 90, "%"),
    ("超过80%", N, GT, 80, "%"),
    ("＜5%", N, LT, 5, "%"),
    ("低于2%", N, LT, 2, "%"),
    ("=100%", N, EQ, 100, "%"),
    ("＝100%", N, EQ, 100, "%"),
    ("等于0", N, EQ, 0, None),
    # numbers: full-width, separators, scales, Chinese numerals, decimals
    ("１２次", N, None, 12, "次"),
    ("≥１００％", N, GE, 100, "%"),
    ("72,890元", N, None, 72890, "元"),
    ("1,234,567.5元", N, None, 1234567.5, "元"),
    ("0.5亿元", N, None, 50000000, "元"),
    ("3万人次", N, None, 30000, "人次"),
    ("1.2万亩", N, None, 12000, "亩"),
    ("五次", N, None, 5, "次"),
    ("两个", N, None, 2, "个"),
    ("十二次", N, None, 12, "次"),
    ("二十场", N, None, 20, "场"),
    ("≥三次", N, GE, 3, "次"),
    ("528.244101", N, None, 528.244101, None),
    ("-5%", N, None, -5, "%"),
    ("－3.5%", N, None, -3.5, "%"),
    ("≤0", N, LE, 0, None),
    ("266米", N, None, 266, "米"),
    ("1200平方米", N, None, 1200, "㎡"),
    ("12期", N, None, 12, "期"),
    ("6篇", N, None, 6, "篇"),
    ("300份", N, None, 300, "份"),
    ("15件", N, None, 15, "件"),
    ("2项", N, None, 2, "项"),
    ("14种", N, None, 14, "种"),
    ("3所", N, None, 3, "所"),
    ("120户", N, None, 120, "户"),
    ("30天", N, None, 30, "天"),
    ("5日", N, None, 5, "天"),
    ("3个月", N, None, 3, "月"),
    ("2年", N, None, 2, "年"),
    ("150厘米", N, None, 150, "厘米"),
    ("95‰", N, None, 95, "‰"),
    # the actual repeats the target text, or carries words around one number
    ("完成双月协商6次", N, None, 6, "次"),
    ("年度资金支付完成率100%", N, None, 100, "%"),
    ("共计召开常委会5次", N, None, 5, "次"),
    # time-only rates are plain numbers
    ("4次/年", N, None, 4, "次"),
    ("12期/年", N, None, 12, "期"),
]

RATES = [
    ("4次/年/界别", 4, "次", ("年", "界别")),
    ("2次/人", 2, "次", ("人",)),
    ("3000元/人", 3000, "元", ("人",)),
    ("3,000元/人/年", 3000, "元", ("人", "年")),
    ("≥1次/季度/村", 1, "次", ("季度", "村")),
]

DEADLINES = [
    ("2023年底", (2023, 12, 31)),
    ("2023年末", (2023, 12, 31)),
    ("2023年年底", (2023, 12, 31)),
    ("2023年12月底", (2023, 12, 31)),
    ("2023年12月底前", (2023, 12, 31)),
    ("2023年12月底前完成", (2023, 12, 31)),
    ("2023年12月31日前", (2023, 12, 31)),
    ("2023年6月30日", (2023, 6, 30)),
    ("2023年6月", (2023, 6, 30)),
    ("2021年12月完成", (2021, 12, 31)),
    ("2024年2月", (2024, 2, 29)),
    ("12月底前", (None, 12, 31)),
    ("12月底之前完成", (None, 12, 31)),
    ("11月30日前", (None, 11, 30)),
    ("10月底", (None, 10, 31)),
    ("年内", (None, 12, 31)),
    ("年底前", (None, 12, 31)),
    ("年底前完成", (None, 12, 31)),
    ("2023.12.31", (2023, 12, 31)),
    ("2023-06-30", (2023, 6, 30)),
    ("2023年度内", (2023, 12, 31)),
    ("≤2023年12月", (2023, 12, 31)),
]

QUALITATIVE = [
    ("有所提升", Band.ACHIEVED),
    ("持续促进", Band.ACHIEVED),
    ("良好", Band.ACHIEVED),
    ("显著", Band.ACHIEVED),
    ("明显", Band.ACHIEVED),
    ("效果明显", Band.ACHIEVED),
    ("达标", Band.ACHIEVED),
    ("有效", Band.ACHIEVED),
    ("符合相关规定", Band.ACHIEVED),
    ("严格执行相关制度规定", Band.ACHIEVED),
    ("应保尽保", Band.ACHIEVED),
    ("逐步改善", Band.ACHIEVED),
    ("是", Band.ACHIEVED),
    ("达成预期指标", Band.ACHIEVED),
    ("完成", Band.ACHIEVED),
    ("按期", Band.ACHIEVED),
    ("及时", Band.ACHIEVED),
    ("按期完成", Band.ACHIEVED),
    ("在项目计划完成时间内完成", Band.ACHIEVED),
    ("显著提升", Band.ACHIEVED),
    ("部分达成", Band.PARTIAL),
    ("基本完成", Band.PARTIAL),
    ("基本达成年度指标", Band.PARTIAL),
    ("未完成", Band.NOT_ACHIEVED),
    ("未达成年度指标", Band.NOT_ACHIEVED),
    ("否", Band.NOT_ACHIEVED),
    ("效果较差", Band.NOT_ACHIEVED),
    ("逾期", Band.NOT_ACHIEVED),
    ("社会认可的办学环境", None),
]

NOT_APPLICABLE = ["无", "/", "／", "不适用", "不涉及", "N/A", " 无 "]
BLANK = ["", "   ", "一", "-", "—", "——", None]
UNREADABLE = ["M.8万元", "A8次", "以100%为标准。在职人员控制率≤100%，计5分；每超过一个百分点扣0.5分，扣完为止。",
              "5-10次", "1次或2次"]


@pytest.mark.parametrize("text,kind,comparator,value,unit", NUMBERS)
def test_numbers(text, kind, comparator, value, unit):
    p = parse_value(text)
    assert (p.kind, p.comparator, p.unit) == (kind, comparator, unit)
    assert p.value == pytest.approx(value)


@pytest.mark.parametrize("text,value,unit,per", RATES)
def test_rates(text, value, unit, per):
    p = parse_value(text)
    assert (p.kind, p.value, p.unit, p.per) == (K.RATE, value, unit, per)


@pytest.mark.parametrize("text,deadline", DEADLINES)
def test_deadlines(text, deadline):
    p = parse_value(text)
    assert (p.kind, p.deadline) == (K.DEADLINE, deadline)


@pytest.mark.parametrize("text,band", QUALITATIVE)
def test_qualitative(text, band):
    p = parse_value(text)
    assert (p.kind, p.band) == (K.QUALITATIVE, band)


@pytest.mark.parametrize("text", NOT_APPLICABLE)
def test_not_applicable(text):
    assert parse_value(text).kind == K.NOT_APPLICABLE


@pytest.mark.parametrize("text", BLANK)
def test_blank(text):
    assert parse_value(text).kind == K.BLANK


@pytest.mark.parametrize("text", UNREADABLE)
def test_unreadable_is_a_value_not_an_exception(text):
    p = parse_value(text)
    assert p.kind == K.UNREADABLE
    assert text.strip() in p.problem and "无法识别" in p.problem


def test_table_has_at_least_100_real_strings():
    total = len(NUMBERS) + len(RATES) + len(DEADLINES) + len(QUALITATIVE) + len(NOT_APPLICABLE) + len(BLANK) + len(UNREADABLE)
    assert total >= 100


@pytest.mark.parametrize("text,unit,value,expected_unit", [
    ("735", "人次", 735, "人次"),
    ("≥", None, None, None),
    ("95", "%", 95, "%"),
    ("528.244101", "万元", 5282441.01, "元"),
    ("100%", "%", 100, "%"),
])
def test_separate_unit_column(text, unit, value, expected_unit):
    p = parse_value(text, unit)
    if value is None:
        assert p.kind != K.NUMBER
    else:
        assert (p.value, p.unit) == (pytest.approx(value), expected_unit)


def test_band_two_sided():
    p = parse_value("100±5%")
    assert (p.kind, p.comparator, p.value, p.tolerance, p.unit) == (K.NUMBER, BAND, 100, 5, "%")
    p = parse_value("±10%")
    assert (p.comparator, p.value, p.tolerance) == (BAND, 0, 10)


def test_scale_is_recorded_for_actuals_without_unit():
    assert parse_value("528.244101万").scale == 1e4
    assert parse_value("90万元").scale == 1e4
    assert parse_value("90").scale == 1.0


def test_loose_flag_marks_numbers_picked_out_of_words():
    assert parse_value("完成双月协商6次").loose
    assert not parse_value("6次").loose


@pytest.mark.parametrize("text,value", [("五", 5), ("十", 10), ("十二", 12), ("二十", 20), ("两百零五", 205),
                                        ("三万", 30000), ("一百", 100), ("x", None), ("", None)])
def test_chinese_number(text, value):
    assert chinese_number(text) == value


@pytest.mark.parametrize("unit,expected", [("％", "%"), ("百分比", "%"), ("个百分点", "%"), ("日", "天"), ("", None),
                                           (None, None), ("人次", "人次")])
def test_normalise_unit(unit, expected):
    assert normalise_unit(unit) == expected


def test_classify_phrase_checks_negations_first():
    assert classify_phrase("未完成") == Band.NOT_ACHIEVED
    assert classify_phrase("基本完成") == Band.PARTIAL
    assert classify_phrase("完成") == Band.ACHIEVED


def test_decimal_numbers_are_not_dates():
    assert parse_value("2012.4").kind == K.NUMBER
    assert parse_value("12月").kind == K.DEADLINE  # a month is a deadline, not 12 of a unit 月
    assert parse_value("2023.12.31").kind == K.DEADLINE


from hypothesis import given, strategies as st  # noqa: E402


@given(op=st.sampled_from(["", "≥", "≤", ">", "<", "="]),
       number=st.decimals(min_value=0, max_value=10**7, places=3, allow_nan=False, allow_infinity=False),
       scale=st.sampled_from(["", "万"]), unit=st.sampled_from(["", *__import__("evaluator.parse").parse._SIMPLE_UNITS.split("|"), "月"]))
def test_fast_path_agrees_with_the_full_parser(op, number, scale, unit):
    """parse_value reads the common "≥12.5万元" shape with one regex; the general path must agree."""
    import evaluator.parse as P

    text = f"{op}{number.normalize():f}{scale}{unit}"
    fast = P.parse_value.__wrapped__(text)
    simple, P._SIMPLE = P._SIMPLE, __import__("re").compile(r"(?!)")
    try:
        slow = P.parse_value.__wrapped__(text)
    finally:
        P._SIMPLE = simple
    assert fast == slow


_canonical_texts = st.one_of(
    st.builds(lambda op, n, w, u: f"{op}{n}{w}{u}", st.sampled_from(["", "≥", "≤", "=", "≧"]),
              st.decimals(min_value=0, max_value=10**6, places=2).map(lambda d: f"{d.normalize():f}"),
              st.sampled_from(["", "万"]), st.sampled_from(["", "次", "%", "元", "月", "人次", "x"])),
    st.text(alphabet="0123456789.≥万元次%\n \r年月", max_size=8),
    st.none(),
)


@given(st.lists(_canonical_texts, max_size=30))
def test_canonical_numbers_scan_agrees_with_one_at_a_time(texts):
    """The one-scan batch reader (texts joined one per line) finds exactly what the single-text reader finds."""
    from evaluator.parse import canonical_number, canonical_numbers

    expected = [canonical_number(t) if isinstance(t, str) and "\n" not in t else None for t in texts]
    hits, *columns = canonical_numbers(texts)
    got = [None] * len(texts)
    for i, *fields in zip(hits, *columns):
        got[i] = tuple(fields)
    assert got == expected  # (a text with a newline goes to the general parser instead)


# --------------------------------------------------------------------------- long and hostile texts (issue 11 §4)
def _median_ms(f, text: str, repeats: int = 5) -> float:
    """Median wall time of ``f(text)`` over a few repeats (a median is robust to a shared machine's hiccups)."""
    import statistics
    import time

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f(text)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# what made the old patterns backtrack: long runs a repeated group can split many ways, then a character that fails
WORST = {
    "dots then x": "." * 20_000 + "x",
    "digits then x": "1" * 20_000 + "x",
    "每超过 then digits": "每超过" + "1" * 19_997,
    "numbers then 计": "1." * 10_000 + "计",
    "bands": "0-10%计4分；" * 2_000,
    "numerals": "一" * 20_000,
    "units": "5" + "次" * 19_999,
    "per": "5" + "/年" * 9_999 + "x",
    "plus-minus": "±1" * 10_000,
    "words": "达成" * 10_000,
    "spaces": "1 " * 10_000,
}


@pytest.mark.parametrize("name", sorted(WORST))
@pytest.mark.parametrize("cut", [20_000, 1_999])  # over the parser's text limit, and just under it (parsed in full)
def test_worst_case_texts_parse_in_linear_time(name, cut):
    from evaluator.parse import parse_scoring_text

    text = WORST[name][:cut]
    assert _median_ms(parse_value.__wrapped__, text) < 50
    assert _median_ms(parse_scoring_text, text) < 50  # was 4.3 s for 20,000 dots + "x"


def test_scoring_text_with_a_malformed_number_is_not_a_rule():
    from evaluator.parse import parse_scoring_text

    assert parse_scoring_text("1.2.3%计满分，每低于5%扣2分") is None  # raised ValueError before
    assert parse_scoring_text("=0，计5分；0-1.2.3%(含)，计4分") is None
    assert parse_scoring_text("100%计满分，每低于5%扣2分")[1] == {"method": "step-deduction", "step": 5.0,
                                                              "points": 2.0, "basis": "absolute"}


def test_unreadable_message_quotes_at_most_80_characters():
    p = parse_value("说明" * 900 + "5次与6次")
    assert p.kind == U and len(p.problem) < 120 and "共 1805 个字符" in p.problem


# --------------------------------------------------------------------------- the shortcuts of the general path
def _reference_normalise(text: str) -> str:
    """normalise_text as it was written before its shortcuts: every step on every text."""
    import re
    import unicodedata

    from evaluator.parse import _OPERATOR_PAIRS, _SYMBOLS

    s = unicodedata.normalize("NFKC", text).translate(_SYMBOLS)
    for a, b in _OPERATOR_PAIRS:
        s = s.replace(a, b)
    return re.sub(r"\s+", "", s)


def test_the_shortcuts_of_normalise_text_hold_for_every_code_point():
    """What normalise_text skips on: each look-alike is non-ASCII and found by the scan, every operator pair holds
    "=" or "+", and what ``\\s`` matches is exactly ``str.isspace`` — the ASCII space or a character that is not
    printable. Checked over every code point, so the skipped steps could not have changed any text."""
    import re

    from evaluator.parse import _OPERATOR_PAIRS, _SYMBOL_CHARS, _SYMBOLS

    assert all(_SYMBOL_CHARS.fullmatch(chr(k)) for k in _SYMBOLS)
    assert all("=" in a or "+" in a for a, _ in _OPERATOR_PAIRS)
    space = re.compile(r"\s")
    for cp in range(0x110000):
        c = chr(cp)
        assert bool(space.match(c)) == c.isspace(), hex(cp)
        if c.isspace():
            assert c == " " or not c.isprintable(), hex(cp)
        assert bool(_SYMBOL_CHARS.match(c)) == (cp in _SYMBOLS), hex(cp)


_LOOKALIKES = "≥≤><=≧⩾≦⩽═〓﹤﹥∶－—–～〜（）％﹪‰\u3000\xa0“”\u200b+-±~/.,:%05９万元次年月底完成无 \t\n\x0b\x1c\x85\u2028\u202fe\u0301ﬁ①㎡²"


@given(st.text(alphabet=_LOOKALIKES, max_size=16) | st.text(max_size=12))
def test_normalise_text_equals_every_step_on_every_text(text):
    from evaluator.parse import normalise_text

    assert normalise_text(text) == _reference_normalise(text)


@given(st.text(alphabet=_LOOKALIKES + "#!?DIV/NAREFnaINFinf不详待统计xX*…", max_size=22) | st.sampled_from(
    ["#DIV/0!", "＃REF！", "#N/A", "不详", "TBD", " nan ", "-inf", "∞", "……", "***", "x", "#"]))
def test_no_answer_and_parse_value_read_the_text_normalised_once(text):
    """parse_value normalises a text once and hands it to no_answer, which hands it on to excel_error: given the
    normalised text, both say what they say of the text itself."""
    from evaluator.parse import excel_error, normalise_text, no_answer

    if len(text) <= 20:
        got = no_answer(text, normalised=normalise_text(text))
        assert got == no_answer(text)
        assert excel_error(normalise_text(text), normalised=True) == excel_error(text)
        if excel_error(text):
            assert got == f"“{excel_error(text)}”是 Excel 的错误值（公式出错），不是可计分的值"
    value = parse_value.__wrapped__(text)
    assert (value.kind == K.NO_ANSWER) == (len(text) <= 2000 and no_answer(text) is not None
                                           and __import__("evaluator.parse").parse.canonical_number(text) is None)


def test_no_one_character_normalises_into_an_excel_error_value():
    """excel_error(…, normalised=True) tests the length of the normalised text, not of the cell's: the same test
    only while no single character (a cell of length 1, which it refuses) normalises into an error value."""
    from evaluator.parse import EXCEL_ERRORS, normalise_text

    assert [hex(cp) for cp in range(0x110000) if normalise_text(chr(cp)).upper() in EXCEL_ERRORS] == []
    assert all(2 <= len(e) <= 20 for e in EXCEL_ERRORS)


@pytest.mark.parametrize("pattern", ["_DL_FULL", "_DL_YEAR_END", "_DL_MONTH", "_DL_WORDS"])
def test_every_deadline_shape_passes_the_quick_test(pattern):
    """_deadline returns at once unless the text holds 年 or 月 or starts with four digits: every text any of the
    deadline patterns matches passes that test (texts drawn from the patterns themselves)."""
    from hypothesis import HealthCheck, settings

    import evaluator.parse as P

    @settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(st.from_regex(getattr(P, pattern), fullmatch=True))
    def check(s):
        assert "年" in s or "月" in s or s[:4].isdigit()

    check()
