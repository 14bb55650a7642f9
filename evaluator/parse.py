"""Pure text → value: every 指标值 / 实际完成值 format of domain.md §4.

``parse_value`` never raises: text it cannot read comes back as ``ValueKind.UNREADABLE`` with the reason,
and the caller turns that into a located finding. Results are cached per distinct string, since real
tables repeat the same few hundred target texts.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from functools import lru_cache

from .errors import quote
from .model import Band, Comparator, ParsedValue, ValueKind

__all__ = ["parse_value", "normalise_text", "classify_phrase", "chinese_number", "normalise_unit", "parse_scoring_text",
           "canonical_number", "canonical_numbers", "excel_error", "no_answer", "EXCEL_ERRORS"]

# --------------------------------------------------------------------------- normalisation
_SYMBOLS = str.maketrans(
    {
        "≧": "≥", "⩾": "≥", "≦": "≤", "⩽": "≤", "═": "=", "〓": "=", "﹤": "<", "﹥": ">",
        "∶": ":", "－": "-", "—": "-", "–": "-", "～": "~", "〜": "~", "（": "(", "）": ")",
        "％": "%", "﹪": "%", "‰": "‰", "\u3000": " ", "\xa0": " ", "“": "", "”": "", "\u200b": "",
    }
)
_OPERATOR_PAIRS = (("≥=", "≥"), (">=", "≥"), ("=>", "≥"), ("<=", "≤"), ("=<", "≤"), ("≤=", "≤"), ("+-", "±"))


_SYMBOL_CHARS = re.compile("[" + re.escape("".join(map(chr, _SYMBOLS))) + "]")
_WHITESPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Full-width → half-width, operator look-alikes → one spelling, whitespace removed.

    Each step only when it can change something (this runs on every distinct value the general parser reads):
    the look-alikes are found by one regex scan, every operator pair holds "=" or "+", and a whitespace
    character (what ``\\s`` matches: ``str.isspace``) is the ASCII space or not printable — all three checked over
    every code point in tests/test_parse.py."""
    s = unicodedata.normalize("NFKC", text)
    if _SYMBOL_CHARS.search(s):
        s = s.translate(_SYMBOLS)
    if "=" in s or "+" in s:
        for a, b in _OPERATOR_PAIRS:
            s = s.replace(a, b)
    return s if spaceless(s) else _WHITESPACE.sub("", s)


def spaceless(text: str) -> bool:
    """No whitespace in ``text``: every character ``\\s`` matches is the space or unprintable (checked over
    every code point in tests/test_parse.py), so a printable text without a space has none."""
    return text.isprintable() and " " not in text


# --------------------------------------------------------------------------- vocabulary
# the error values Excel and WPS store in a cell whose formula failed: unreadable, never 0 and never full marks
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!",
                          "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#EXTERNAL!", "#PYTHON!"})
# words that stand where an answer should be (compared in lower case, after normalise_text)
NO_ANSWER = frozenset({
    "不详", "待统计", "未统计", "无法统计", "暂未统计", "尚未统计", "暂无统计", "统计中", "正在统计", "待定", "未定", "待核实",
    "待核定", "待确认", "待补充", "待补", "待填", "待填写", "待更新", "待报", "待核", "未知", "不清楚", "不明", "未填", "未填写",
    "未录入", "暂缺", "缺失", "空白", "略", "tbd", "tbc", "todo", "xx", "xxx", "nan", "none", "null", "inf", "+inf", "-inf",
    "infinity", "+infinity", "-infinity", "∞", "+∞", "-∞",
})
_PLACEHOLDER_CHARS = frozenset("?.…*×#")  # "？", "……", "***", "×××" alone say nothing


def excel_error(text: object, *, normalised: bool = False) -> str | None:
    """The Excel/WPS error value a cell holds ("#DIV/0!", "#N/A", "＃REF！" …) in its usual spelling, else None.
    Every reader asks this of a cell before reading it as a number or a word. ``normalised``: the text is
    ``normalise_text``'s already (no one character normalises into an error value: tests/test_parse.py), and the
    length tested is then the normalised text's: the caller has tested the cell's own (``no_answer``: ≤ 20)."""
    if not isinstance(text, str) or not 2 <= len(text) <= 20:
        return None
    s = (text if normalised else normalise_text(text)).upper()
    return s if s in EXCEL_ERRORS else None


def no_answer(text: str, *, normalised: str | None = None) -> str | None:
    """Why a text is no answer at all (an Excel error value, a placeholder word, nan/inf), in Chinese; else None.
    ``normalised``: the text's ``normalise_text``, when the caller has it (``parse_value`` does)."""
    if len(text) > 20:
        return None
    s = normalise_text(text) if normalised is None else normalised
    if err := excel_error(s, normalised=True):
        return f"“{err}”是 Excel 的错误值（公式出错），不是可计分的值"
    s = s.lower()
    if s in NO_ANSWER:
        return f"“{quote(text.strip())}”不是数值或完成情况" + ("（不是有限的数字）" if "inf" in s or "nan" in s or "∞" in s else "")
    if s and set(s) <= _PLACEHOLDER_CHARS:
        return f"“{quote(text.strip())}”是占位符号，不是数值或完成情况"
    return None


NOT_APPLICABLE = {"无", "/", "\\", "不适用", "不涉及", "N/A", "n/a", "NA", "na", "无此项", "暂无", "无此指标", "//"}
DASHES = {"-", "--", "---", "一", "——", "_", "~"}

_PREFIX_OPS = [
    ("大于或等于", Comparator.GE), ("大于等于", Comparator.GE), ("不低于", Comparator.GE), ("不少于", Comparator.GE),
    ("不小于", Comparator.GE), ("至少", Comparator.GE), ("最少", Comparator.GE), ("达到", Comparator.GE),
    ("小于或等于", Comparator.LE), ("小于等于", Comparator.LE), ("不超过", Comparator.LE), ("不高于", Comparator.LE),
    ("不多于", Comparator.LE), ("不大于", Comparator.LE), ("不超出", Comparator.LE), ("最多", Comparator.LE),
    ("控制在", Comparator.LE), ("低于", Comparator.LT), ("小于", Comparator.LT), ("少于", Comparator.LT),
    ("超过", Comparator.GT), ("大于", Comparator.GT), ("高于", Comparator.GT), ("多于", Comparator.GT),
    ("等于", Comparator.EQ), ("≥", Comparator.GE), ("≤", Comparator.LE), (">", Comparator.GT), ("<", Comparator.LT),
    ("=", Comparator.EQ), ("≠", None),
]
_SUFFIX_OPS = [
    ("及以上", Comparator.GE), ("以上", Comparator.GE), ("或以上", Comparator.GE), ("之上", Comparator.GE),
    ("及以下", Comparator.LE), ("以下", Comparator.LE), ("或以下", Comparator.LE), ("以内", Comparator.LE),
    ("之内", Comparator.LE), ("内", Comparator.LE),
]
_PREFIX_RE = re.compile("^(" + "|".join(re.escape(w) for w, _ in _PREFIX_OPS) + ")")
_PREFIX_MAP = dict(_PREFIX_OPS)
_SUFFIX_RE = re.compile("(" + "|".join(re.escape(w) for w, _ in _SUFFIX_OPS) + r")(\(含\))?$")
_SUFFIX_MAP = dict(_SUFFIX_OPS)

_UNIT_ALIASES = {
    "％": "%", "百分比": "%", "个百分点": "%", "百分点": "%", "pct": "%",
    "日": "天", "个工作日": "天", "工作日": "天", "个月": "月", "人/次": "人次",
    "平方米": "㎡", "m2": "㎡", "m²": "㎡", "公里": "千米", "km": "千米", "m": "米",
}
TIME_UNITS = {"年", "月", "季度", "季", "周", "天", "日", "期", "学期", "年度"}
_SCALES = {"万": 1e4, "亿": 1e8}

# Every repetition in this module is bounded (and every text is cut to MAX_TEXT before a regex sees it), so no
# pattern can backtrack quadratically: a 20,000-character cell parses in well under a millisecond per 1,000 characters.
# A number has at most 20 digits before its point and 12 after: longer ones are not 指标值.
_INT, _FRAC = r"\d{1,20}", r"\.\d{1,12}"
_NUM = rf"\d{{1,3}}(?:,\d{{3}}){{1,6}}(?:{_FRAC})?|{_INT}(?:{_FRAC})?|{_FRAC}"
_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
_NUMBER_RE = re.compile(
    rf"^(?:(?P<center>{_NUM})(?=±))?(?P<pm>±)?(?P<sign>-)?(?P<num>{_NUM}|[{_CN_DIGITS}]{{1,20}})(?P<scale>万|亿)?(?P<unit>[^\d/±]{{0,20}}?)(?P<per>(?:/[^\d/]{{1,12}}){{0,4}})$"
)
_ANY_NUMBER = re.compile(rf"({_NUM})")

# deadlines
_DL_FULL = re.compile(r"^(?P<y>\d{4})(?:年|\.|-|/)(?P<m>\d{1,2})(?:月|\.|-|/)?(?:(?P<d>\d{1,2})[日号]?)?(?P<rest>.*)$")
_DL_YEAR_END = re.compile(r"^(?P<y>\d{4})年(?:度)?(?:底|末|年底|年末|12月底|内|全年)(?P<rest>.*)$")
_DL_MONTH = re.compile(r"^(?:当年|本年|年内)?(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})[日号])?(?P<rest>.*)$")
_DL_WORDS = re.compile(r"^(?:年底前?|年末前?|年内|当年|本年度?内?|年度内|年底之前|全年)(?P<rest>.*)$")
_DL_DOTTED = re.compile(r"^\d{4}[.\-/]\d{1,2}[.\-/]\d")
_DL_REST = re.compile(r"^(?:底|末|中旬|上旬|下旬)?(?:前|之前|以前|内|止)?(?:完成|结束|办结|到位|实施|前完成|全部完成|完工|验收)?(?:任务)?$")

# qualitative judgements (order matters: negations first, since 未完成 contains 完成)
_NOT_ACHIEVED = ("未达成", "未达到", "未完成", "没有完成", "未实现", "未达标", "不达标", "不合格", "不符合", "未按期",
                 "未按时", "未及时", "较差", "很差", "无效", "滞后", "延期", "逾期", "下降", "不满意", "未开展", "未落实",
                 "未执行", "否")
_PARTIAL = ("部分达成", "部分完成", "部分实现", "基本达成", "基本完成", "基本实现", "基本达到", "基本满意", "基本符合",
            "一定效果", "有一定", "一般", "较小", "初步", "部分")
_ACHIEVED = ("达成", "达到", "完成", "实现", "有效", "显著", "明显", "提升", "提高", "增强", "促进", "改善", "良好", "优秀",
             "较好", "达标", "合格", "符合", "严格执行", "执行到位", "应保尽保", "满意", "及时", "按期", "按时", "到位",
             "落实", "稳定", "正常", "顺利", "保障", "是", "好", "优", "已", "持续", "推进", "加强", "规范", "健全", "效果",
             "贡献", "助力", "保持", "有所")


def classify_phrase(text: str) -> Band | None:
    """A qualitative word's band: 达成 / 部分达成 / 未达成, or None when the words say neither."""
    s = normalise_text(text)
    if any(w in s for w in _NOT_ACHIEVED):
        return Band.NOT_ACHIEVED
    if any(w in s for w in _PARTIAL):
        return Band.PARTIAL
    if any(w in s for w in _ACHIEVED):
        return Band.ACHIEVED
    return None


# --------------------------------------------------------------------------- numbers
_CN_VALUE = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}


def chinese_number(text: str) -> int | None:
    """五 → 5, 十二 → 12, 两百零五 → 205, 三万 → 30000; None when the text is not a numeral."""
    if not text or any(c not in _CN_VALUE and c not in _CN_UNIT and c not in _CN_BIG for c in text):
        return None
    total, section, digit = 0, 0, None
    for c in text:
        if c in _CN_VALUE:
            digit = _CN_VALUE[c]
        elif c in _CN_UNIT:
            section += (1 if digit is None else digit) * _CN_UNIT[c]
            digit = None
        else:
            section += digit or 0
            total += (section or 1) * _CN_BIG[c]
            section, digit = 0, None
    return total + section + (digit or 0)


def normalise_unit(unit: str | None) -> str | None:
    """Spelling variants of a unit → one spelling (％, 百分比 → %; 日 → 天); '' → None."""
    if not unit:
        return None
    u = normalise_text(unit).strip("()")
    return _UNIT_ALIASES.get(u, u) or None


_NUM_FULL = re.compile(_NUM)


def _to_float(num: str) -> float | None:
    if _NUM_FULL.fullmatch(num):
        return float(num.replace(",", ""))
    cn = chinese_number(num)
    return None if cn is None else float(cn)


def _split_per(unit: str, per: str) -> tuple[str, tuple[str, ...]]:
    if not per:
        return unit, ()
    parts = tuple(p for p in per.split("/") if p)
    return unit, parts


def _number(core: str, raw: str, comparator: Comparator | None, *, loose: bool = False) -> ParsedValue | None:
    m = _NUMBER_RE.match(core)
    if not m:
        return None
    value = _to_float(m["num"])
    if value is None:
        return None
    if m["sign"]:
        value = -value
    unit_text = m["unit"] or ""
    if m["num"][0] in _CN_DIGITS and not unit_text and not m["scale"]:
        return None  # a bare Chinese numeral is a word, not a number (一 is also a dash)
    scale = _SCALES[m["scale"]] if m["scale"] else 1.0
    unit, per = _split_per(unit_text, m["per"] or "")
    if unit and not _plausible_unit(unit):
        return None
    unit_n = normalise_unit(unit)
    if unit_n and unit_n.startswith("万") and len(unit_n) > 1 and scale == 1.0:
        scale, unit_n = 1e4, unit_n[1:]
    per_units = tuple(normalise_unit(p) or p for p in per)
    kind = ValueKind.RATE if any(p not in TIME_UNITS for p in per_units) else ValueKind.NUMBER
    if m["pm"]:
        center = _to_float(m["center"]) if m["center"] else 0.0
        return ParsedValue(raw=raw, kind=kind, comparator=Comparator.BAND, value=(center or 0.0) * scale,
                           tolerance=value * scale, unit=unit_n, per=per_units, scale=scale, loose=loose)
    if m["center"]:
        return None
    return ParsedValue(raw=raw, kind=kind, comparator=comparator, value=value * scale, unit=unit_n,
                       per=per_units, scale=scale, loose=loose)


_UNIT_OK = re.compile(r"^[A-Za-z%‰㎡²\u4e00-\u9fff·.]{1,6}$")
_NOT_UNIT_WORDS = ("完成", "达到", "提升", "以上", "以下", "左右", "合格", "满意", "为标准", "计", "扣", "得")


def _plausible_unit(unit: str) -> bool:
    return bool(_UNIT_OK.match(unit)) and not any(w in unit for w in _NOT_UNIT_WORDS)


def _deadline(s: str, raw: str, comparator: Comparator | None) -> ParsedValue | None:
    if not ("年" in s or "月" in s or s[:4].isdigit()):
        return None  # (every deadline shape holds 年 or 月 or starts with four digits: isdigit admits all \d does)
    y = m = d = None
    rest = ""
    if mt := _DL_YEAR_END.match(s):
        y, m, d, rest = int(mt["y"]), 12, 31, mt["rest"]
    elif (mt := _DL_FULL.match(s)) and ("年" in s or _DL_DOTTED.match(s)):
        y, m, rest = int(mt["y"]), int(mt["m"]), mt["rest"]
        d = int(mt["d"]) if mt["d"] else None
    elif mt := _DL_MONTH.match(s):
        m, rest = int(mt["m"]), mt["rest"]
        d = int(mt["d"]) if mt["d"] else None
    elif mt := _DL_WORDS.match(s):
        m, d, rest = 12, 31, mt["rest"]
    else:
        return None
    if not (1 <= m <= 12) or (y is not None and not 1900 <= y <= 2200) or not _DL_REST.match(rest):
        return None
    last = calendar.monthrange(y or 2001, m)[1]
    if d is None:
        d = last
    if not 1 <= d <= last:
        return None
    return ParsedValue(raw=raw, kind=ValueKind.DEADLINE, comparator=comparator or Comparator.LE, deadline=(y, m, d))


# the common shape, already in canonical spelling: "93.5", "12次", "≥528.244101万", "≤29.86万元", "=96%"
# (no 月: "12月" is a deadline, read by the general path)
_SIMPLE_UNITS = "次|个|人次|人|户|场|期|篇|份|件|项|种|所|元|%|天|年|米|名|例|家|台|套|条|本|座|处|间|张|部|批|亩|吨|小时"
_SIMPLE_SHAPE = rf"([≥≤><=])?({_INT}(?:{_FRAC})?)(万)?({_SIMPLE_UNITS})?"
_SIMPLE = re.compile(rf"^{_SIMPLE_SHAPE}$")
_SIMPLE_LINES = re.compile(rf"^{_SIMPLE_SHAPE}$", re.MULTILINE)
_SIMPLE_OPS = {"≥": Comparator.GE, "≤": Comparator.LE, ">": Comparator.GT, "<": Comparator.LT, "=": Comparator.EQ}


def canonical_number(text: str) -> tuple[Comparator | None, float, str | None, float] | None:
    """(comparator, value, unit, scale) of a text already in the canonical "≥12.5万元" shape, else None.

    Most 指标值 and 实际完成值 cells have this shape; reading it with one regex (and no normalisation) is what
    keeps parsing fast. Property-tested to agree with the general path of ``parse_value``."""
    m = _SIMPLE.match(text)
    return None if m is None else _canonical(m)


def _canonical(m: re.Match) -> tuple[Comparator | None, float, str | None, float]:
    op, num, wan, unit = m.groups()
    scale = 1e4 if wan else 1.0
    return _SIMPLE_OPS[op] if op else None, float(num) * scale, unit, scale


def canonical_numbers(texts: list[str | None]) -> tuple[list[int], list[Comparator | None], list[float],
                                                        list[str | None], list[float]]:
    """``canonical_number`` of many texts in one regex scan over all of them (joined one per line).

    Returns the positions of the texts in canonical shape and, as parallel lists, their comparators, values,
    units and scales (columns rather than a tuple per text: this is the hot path of scoring)."""
    lines = [t if isinstance(t, str) and "\n" not in t else "" for t in texts]  # a text with a newline is not canonical
    starts = {}
    pos = 0
    for i, line in enumerate(lines):
        starts[pos] = i
        pos += len(line) + 1
    hits, ops, values, units, scales = [], [], [], [], []
    for m in _SIMPLE_LINES.finditer("\n".join(lines)):
        op, num, wan, unit = m.groups()
        hits.append(starts[m.start()])
        ops.append(_SIMPLE_OPS[op] if op else None)
        values.append(float(num) * 1e4 if wan else float(num))
        units.append(unit)
        scales.append(1e4 if wan else 1.0)
    return hits, ops, values, units, scales


MAX_TEXT = 2_000  # longer than any 指标值: read no further (and keep the regexes on short strings)


@lru_cache(maxsize=200_000)
def parse_value(text: str | None, unit: str | None = None) -> ParsedValue:
    """Read one 指标值 or 实际完成值 (``unit`` from a separate 度量单位 column, if any)."""
    raw = "" if text is None else str(text)
    if len(raw) > MAX_TEXT:
        return ParsedValue(raw=raw, kind=ValueKind.UNREADABLE, problem=f"文字过长（{len(raw)} 个字符），不是指标值")
    if unit is None and (c := canonical_number(raw)):
        return ParsedValue(raw=raw, kind=ValueKind.NUMBER, comparator=c[0], value=c[1], unit=c[2], scale=c[3])
    s = normalise_text(raw)
    if why := no_answer(raw, normalised=s):
        return ParsedValue(raw=raw, kind=ValueKind.NO_ANSWER, problem=why)
    if unit and (u := normalise_text(unit)) and not s.endswith(u) and s not in NOT_APPLICABLE and s not in DASHES:
        s += u
    if not s:
        return ParsedValue(raw=raw, kind=ValueKind.BLANK)
    if s in NOT_APPLICABLE:
        return ParsedValue(raw=raw, kind=ValueKind.NOT_APPLICABLE)
    if s in DASHES:
        return ParsedValue(raw=raw, kind=ValueKind.BLANK)

    comparator: Comparator | None = None
    core = s
    if mp := _PREFIX_RE.match(core):
        comparator = _PREFIX_MAP[mp.group(1)]
        core = core[mp.end():]
    if pv := _deadline(core.removesuffix("(含)"), raw, comparator):
        return pv
    if ms := _SUFFIX_RE.search(core):
        comparator = comparator or _SUFFIX_MAP[ms.group(1)]
        core = core[: ms.start()]
    core = core.removesuffix("(含)").removesuffix("左右")

    if pv := _deadline(core, raw, comparator):
        return pv
    if core and (pv := _number(core, raw, comparator)):
        return pv
    if core.startswith("±") and (pv := _number(core, raw, comparator)):
        return pv

    numbers = _ANY_NUMBER.findall(s)
    if not numbers:
        if len(s) > 1 and s[-1] in "次个人项场期篇份件种所户名" and s[-2] in _CN_DIGITS:  # "五次": no regex search
            n = _number(core, raw, comparator)
            if n:
                return n
        return ParsedValue(raw=raw, kind=ValueKind.QUALITATIVE, comparator=comparator, band=classify_phrase(s))
    if len(numbers) == 1:
        # one number inside words: "完成双月协商6次", "年度资金支付完成率100%"
        pos = s.find(numbers[0])
        if pos > 0 and s[pos - 1] == "-":
            pos -= 1
        if pos > 0 and _GLUED.match(s[pos - 1]):
            return _unreadable(raw, comparator)
        tail = s[pos:]
        tail_m = _TAIL.match(tail)
        if tail_m:
            piece = tail_m.group(0)
            unit_word = tail_m.group(3) or ""
            while unit_word and not _plausible_unit(unit_word):
                unit_word = unit_word[:-1]
            piece = tail_m.group(1) + (tail_m.group(2) or "") + unit_word
            if pv := _number(piece, raw, comparator, loose=True):
                if _deadline(s, raw, comparator) is None and not _looks_like_date(s, numbers[0]):
                    return pv
    return _unreadable(raw, comparator)


_GLUED = re.compile(r"[A-Za-z.\d]")  # a character before the number that makes it part of a code ("A3", "v2.1")
_TAIL = re.compile(rf"(-?(?:{_NUM}))(万|亿)?(%|[\u4e00-\u9fff]{{1,2}})?")


def _unreadable(raw: str, comparator: Comparator | None) -> ParsedValue:
    return ParsedValue(raw=raw, kind=ValueKind.UNREADABLE, comparator=comparator, band=classify_phrase(raw),
                       problem=f"无法识别“{quote(raw.strip())}”的数值、单位或期限")


def _looks_like_date(s: str, number: str) -> bool:
    return len(number) == 4 and s[s.find(number) + 4: s.find(number) + 5] in ("年", ".", "-", "/")


# --------------------------------------------------------------------------- scoring rules written as text
_CN_STEP = {"一个百分点": 1.0, "1个百分点": 1.0, "一个百分比": 1.0}
_SN = r"[\d.]{1,24}"  # a number in a 评分标准 (bounded: the searches below start at every position)
_STEP_RE = re.compile(rf"每(超过|超出|高于|多于|低于|少于|减少|增加)(一个百分点|{_SN}个?百分点|{_SN}%)扣({_SN})分")
_FULL_RE = re.compile(rf"(≤|≥|=|<|>)?(-?{_SN})(%?)(以下|以上)?(\(含\))?[,，]?计(满分|{_SN}分)")
_BAND_RE = re.compile(rf"(-?{_SN})%?-(-?{_SN})%?(\(含\))?[,，]?计({_SN})分")
_FIRST_BAND_RE = re.compile(rf"=(-?{_SN})%?[,，]?计({_SN})分")


def parse_scoring_text(text: str) -> tuple[ParsedValue, dict] | None:
    """A 评分标准 written in words, as 部门整体 tables do (domain.md §5), → (target, scoring method).

    "在职人员控制率≤100%，计5分；每超过一个百分点扣0.5分，扣完为止" → target ≤100%, step-deduction 1 point, 0.5;
    "100%计满分，每低于5%扣2分" → target ≥100%, step 5, 2; "=0，计5分；0-10%(含)，计4分；…；大于30%不得分" → bands.
    None when the text is not such a rule."""
    if len(text) > MAX_TEXT:
        return None
    s = normalise_text(text)
    if m := _STEP_RE.search(s):
        over = m.group(1) in ("超过", "超出", "高于", "多于", "增加")
        size = m.group(2)
        step, points = _CN_STEP.get(size) or _float(re.sub(r"[^\d.]", "", size)), _float(m.group(3))
        head = s[: m.start()]
        full = None
        for f in _FULL_RE.finditer(head):
            full = f
        value = _float(full.group(2)) if full else None
        if value is None or not step or points is None:
            return None
        unit = "%" if full.group(3) or "%" in size else None
        comparator = Comparator.LE if over else Comparator.GE
        target = ParsedValue(raw=text, kind=ValueKind.NUMBER, comparator=comparator, value=value, unit=unit)
        return target, {"method": "step-deduction", "step": step, "points": points, "basis": "absolute"}
    bands = _BAND_RE.findall(s)
    if bands and (first := _FIRST_BAND_RE.search(s)):
        steps = [(_float(first.group(1)), _float(first.group(2)))] + [(_float(hi), _float(pts)) for _, hi, _, pts in bands]
        if any(x is None for step in steps for x in step):
            return None
        target = ParsedValue(raw=text, kind=ValueKind.NUMBER, comparator=Comparator.LE, value=steps[0][0],
                             unit="%" if "%" in s else None)
        return target, {"method": "value-bands", "bands": [{"max": hi, "points": pts} for hi, pts in steps]}
    return None


def _float(text: str) -> float | None:
    """A number of a 评分标准 ("1.5"; "1.2.3" or "." is none)."""
    try:
        return float(text)
    except ValueError:
        return None
