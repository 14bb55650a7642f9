"""Chinese line breaking (禁则) and the few number formats the signed documents share.

A line never starts with closing punctuation (，。、；：！？）」』” …) and never ends with opening punctuation
(（「『“ …); a number stays whole with its sign, decimals, percent sign and unit ("29.80分", "528.24万元",
"≥5次", "2024年" "3月"). The PDF writer breaks its lines here (fpdf2 would break anywhere); the docx and HTML
writers mark the same unbreakable pieces so Word, LibreOffice and browsers keep them together too.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Callable, Iterable

__all__ = ["NO_START", "NO_END", "pieces", "break_lines", "glue", "unglue", "split_forbidden", "fmt_money", "fmt_percent",
           "fmt_date"]

# characters that may not begin a line (closing and middle punctuation), and that may not end one (opening)
NO_START = frozenset("，。、；：！？）」』”’》〉】〕］｝…％‰·・,.;:!?)]}%")
NO_END = frozenset("（「『“‘《〈【〔［｛([{")
# units a number is written with in these tables (longest first when matching)
UNITS = ("万元", "亿元", "元", "万", "亿", "分", "个", "次", "人次", "人", "项", "家", "天", "年度", "年", "月", "日",
         "户", "件", "场", "期", "名", "篇", "条", "所", "座", "平方米", "米", "公里", "千米", "吨", "台", "套", "册",
         "份", "批", "小时", "周", "课时", "学时", "亩", "张", "位", "笔", "辆", "株", "头", "处", "栋", "间", "页", "号",
         "届", "类", "种", "批次", "起", "例", "块", "本", "组", "支", "部", "节", "轮", "所", "kg", "km", "m²")
_UNIT = "|".join(re.escape(u) for u in sorted(set(UNITS), key=len, reverse=True))
_NUMBER = (r"(?:第\s?)?[≥≤＞＜>=<±≧≦约近]?[-+]?\d+(?:[.,]\d+)*(?:[%％‰])?"
           rf"(?:\s?(?:{_UNIT}))?(?:/[\u4e00-\u9fff]{{1,3}})*")
# a date is three numbers with their units ("2023年" "12月" "20日"): it may break between them, never inside one
_PIECE = re.compile(rf"{_NUMBER}|[A-Za-z][A-Za-z0-9_.@'\-]*|——|……|\s+|.", re.S)
JOINER = "\u2060"  # WORD JOINER: no break here, no width (Word, LibreOffice and browsers honour it)


def pieces(text: str) -> list[str]:
    """``text`` cut into the pieces a line may break between; whitespace pieces are break opportunities."""
    out: list[str] = []
    hold = False  # the last piece ends with an opening mark (and maybe spaces): the next piece joins it
    for m in _PIECE.finditer(text):
        p = m.group(0)
        if out and (hold or (not p.isspace() and p[0] in NO_START)):
            if not p.isspace() and p[0] in NO_START and out[-1].isspace() and len(out) > 1:
                out[-2] += out.pop()  # "分 ，": no break at the space before a closing mark either
            out[-1] += p  # closing punctuation stays with what it closes, opening with what it opens
        else:
            out.append(p)
        hold = out[-1].rstrip()[-1:] in NO_END
    return out


def break_lines(text: str, width: float, measure: Callable[[str], float], first: float | None = None) -> list[str]:
    """Lines of ``text`` no wider than ``width`` (as ``measure`` says; the first line of each paragraph ``first``
    when given, for an indent), broken only where 禁则 allows.

    Hard newlines are kept. A piece wider than a whole line (a long Latin word or number) is cut by
    characters as a last resort, still never starting a line with closing punctuation."""
    lines: list[str] = []
    full = width
    for para in str(text).split("\n"):
        line, used = "", 0.0
        width = first if first is not None else full
        for p in pieces(para):
            if p.isspace():
                if line:
                    line, used = line + " ", used + measure(" ")
                continue
            w = measure(p)
            if used + w <= width + 1e-6 or not line.strip():
                if w > width + 1e-6 and not line.strip():
                    for chunk in _cut(p, width, measure):
                        if line.strip():
                            lines.append(line.rstrip())
                            width = full
                        line, used = chunk, measure(chunk)
                    continue
                line, used = line + p, used + w
            else:
                lines.append(line.rstrip())
                width = full
                if w > width + 1e-6:
                    chunks = _cut(p, width, measure)
                    lines += chunks[:-1]
                    line = chunks[-1]
                else:
                    line = p
                used = measure(line)
        lines.append(line.rstrip())
    return lines


def _cut(piece: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """An over-long piece cut as gently as it can be: between its glued parts first (a number stays whole if it
    fits), by characters only inside a part wider than a line, never starting a line with closing punctuation."""
    chunks, cur = [], ""
    for part in (m.group(0) for m in _PIECE.finditer(piece)):
        if cur and measure(cur + part) > width + 1e-6 and part[0] not in NO_START:
            chunks.append(cur)
            cur = ""
        if measure(part) > width + 1e-6:
            for ch in part:
                if cur and measure(cur + ch) > width + 1e-6 and ch not in NO_START:
                    chunks.append(cur)
                    cur = ch
                else:
                    cur += ch
        else:
            cur += part
    chunks.append(cur)
    return chunks


_GLUE = re.compile(r"(?<=[0-9%％‰])(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])(?=[0-9])")
_SPACE_UNIT = re.compile(rf"(?<=\d) (?=(?:{_UNIT}))")


def glue(text: str) -> str:
    """``text`` marked so that word processors and browsers keep each number with its unit: a WORD JOINER where
    a digit meets a Chinese character ("29.80⁠分", "第⁠3⁠页") and a no-break space for a space between a number
    and its unit. Their own 禁则 (Word's kinsoku, UAX #14) already keeps punctuation in place."""
    text = str(text)
    if not any(c.isdigit() for c in text):
        return text
    return _GLUE.sub(JOINER, _SPACE_UNIT.sub("\u00a0", text))


def unglue(text: str) -> str:
    return str(text).replace(JOINER, "").replace("\u00a0", " ")


# --------------------------------------------------------------------------- number formats
def fmt_money(x: float | None, decimals: int = 2) -> str:
    """万元 with a fixed number of decimals (one setting per document)."""
    return "" if x is None else f"{x:,.{decimals}f}"


def fmt_percent(rate: float | None, decimals: int = 2) -> str:
    """A ratio (0.9731) as a percentage with two decimals (97.31%)."""
    return "" if rate is None else f"{rate * 100:.{decimals}f}%"


_ISO = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\s*$")


def fmt_date(value: str | dt.date | None) -> str | None:
    """A date written the Chinese way: 2024年3月15日 (ISO, 2024/3/15 and 2024.03.15 are read too)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    m = _ISO.match(str(value))
    if not m:
        return str(value)
    y, mo, d = (int(g) for g in m.groups())
    return f"{y}年{mo}月{d}日"


def split_forbidden(lines: Iterable[str]) -> list[str]:
    """The lines that break a 禁则 rule (for tests and checks): a closing mark first or an opening mark last."""
    return [s for s in lines if s and (s.lstrip()[:1] in NO_START or s.rstrip()[-1:] in NO_END)]
