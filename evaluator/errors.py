"""One root exception for unusable input, and the finding codes users see in output."""
from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Iterator


class EvaluatorError(Exception):
    """Input evaluator cannot use at all; the message says what, where and what to do (in Chinese)."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        parts = [self.message]
        if self.where:
            parts.insert(0, f"{self.where}：")
        text = "".join(parts)
        if self.hint:
            text += f"（{self.hint}）"
        return text


QUOTE_CHARS = 80  # the most of any input a message quotes (a message is one line; inputs may be megabytes)
_CONTROL = {c: " " for c in range(32)} | {0x7F: " "}


def quote(value: object, most: int = QUOTE_CHARS) -> str:
    """An input value as a message quotes it: one line, at most ``most`` characters (a longer one is cut and its
    length said). Lists and dicts are abbreviated before they are turned into text, huge integers are not printed."""
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, int):
        if value.bit_length() > 4 * most:
            return f"{int(value.bit_length() * 0.30103) + 1} 位的整数"
        text = str(value)
    elif isinstance(value, (dict, list, tuple, set)):
        import reprlib

        r = reprlib.Repr()
        r.maxlevel, r.maxdict, r.maxlist, r.maxtuple, r.maxset, r.maxstring, r.maxother = 2, 4, 4, 4, 4, most, most
        text = r.repr(value)
    else:
        text = str(value)
    if len(text) > most:
        return text[: most - 1].translate(_CONTROL) + f"…（共 {len(text)} 个字符）"
    return text.translate(_CONTROL)


class InputFileError(EvaluatorError):
    """A file that cannot be read or does not have the required structure."""


def limit(name: str, default: float) -> float:
    """A safety limit, overridable by the environment: EVALUATOR_MAX_FILE_MB, EVALUATOR_MAX_ROWS, EVALUATOR_MAX_COLUMNS
    (see docs/security.md; the cell limit is ``max_cell_chars``)."""
    import os

    try:
        return float(os.environ.get(f"EVALUATOR_{name}", default))
    except ValueError:
        return default


EXCEL_CELL_CHARS = 32_767  # what one Excel cell holds: a longer text would be cut in every workbook evaluator writes


def max_cell_chars() -> int:
    """EVALUATOR_MAX_CELL_CHARS (default 20,000), refused above Excel's own cell limit: a text evaluator admits must
    reach the 自评表 and the fill-in workbook whole, never cut by the writer."""
    import os

    raw = os.environ.get("EVALUATOR_MAX_CELL_CHARS", "").strip()
    if not raw:
        return 20_000
    try:
        most = int(float(raw))
    except ValueError:
        most = -1
    if not 1 <= most <= EXCEL_CELL_CHARS:
        raise EvaluatorError(f"设置 EVALUATOR_MAX_CELL_CHARS={quote(raw, 20)} 无效：应为 1 至 {EXCEL_CELL_CHARS} 之间的整数",
                             hint=f"Excel 单元格最多容纳 {EXCEL_CELL_CHARS} 个字符，更长的内容写入自评表时会被截断；"
                                  "请改为不超过该值，或删除此设置（默认 20000）")
    return most


def check_sheet_size(rows: int, columns: int, where: str, default_rows: int = 1_048_576) -> None:
    """Refuse a sheet or table larger than the limits before building it in memory. The default admits what Excel
    admits (1,048,576 rows): every reader's time and memory stay linear; EVALUATOR_MAX_ROWS sets a lower limit."""
    max_rows, max_cols = limit("MAX_ROWS", default_rows), limit("MAX_COLUMNS", 200)
    if rows > max_rows or columns > max_cols:
        raise InputFileError(f"表格过大（{rows} 行 × {columns} 列，上限 {max_rows:g} 行 × {max_cols:g} 列）", where=where,
                             hint="请确认选对了文件并删除多余的空行空列；确需处理更大的表，可设置 EVALUATOR_MAX_ROWS / "
                                  "EVALUATOR_MAX_COLUMNS")


# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; the two non-characters Excel rejects
CONTROLS = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF]))
CONTROL_CLASS = re.compile(f"[{re.escape(CONTROLS)}]")
# and the same controls as Excel writes them into its XML (_x000B_), which some readers hand back literally
CONTROL_CHARACTERS = re.compile(f"{CONTROL_CLASS.pattern}|_x00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F])_")


def has_controls(text: str) -> bool:
    """``CONTROL_CHARACTERS.search(text)``, at twice its speed on long texts: a plain character class first, the
    ``_x000B_`` alternative only when the text holds ``_x00`` at all (one scan of a 38 KB data file: 0.14 ms)."""
    return CONTROL_CLASS.search(text) is not None or ("_x00" in text and CONTROL_CHARACTERS.search(text) is not None)
_NOTICES: ContextVar[list | None] = ContextVar("evaluator_input_notices", default=None)


@contextmanager
def collecting() -> Iterator[list]:
    """Collect the findings the readers make while reading (control characters removed …) into the list yielded."""
    found: list = []
    token = _NOTICES.set(found)
    try:
        yield found
    finally:
        _NOTICES.reset(token)


def notice(finding) -> None:
    """Record a reader's finding for the surrounding ``collecting()`` (readers cannot return them all the way up)."""
    found = _NOTICES.get()
    if found is not None and finding not in found:
        found.append(finding)


def check_cell(text: str, where: str, location=None) -> str:
    """Every text cell of every input passes here: refuse one longer than EVALUATOR_MAX_CELL_CHARS (default 20,000
    characters), and remove control characters (NUL, \\v, …) with a located finding, so they reach no output."""
    most = max_cell_chars()
    if len(text) > most:
        raise InputFileError(f"单元格内容过长（{len(text)} 个字符，上限 {most:g}）", where=where,
                             hint="请检查该单元格；确需更长的内容，可设置 EVALUATOR_MAX_CELL_CHARS")
    if has_controls(text):
        text = remove_controls(text, where, location)
    return text


def remove_controls(text: str, where: str, location=None) -> str:
    """The text without its control characters; a warning finding says where they were and which."""
    from .model import Finding, Location, Severity

    found = sorted({chr(int(ch[2:6], 16)) if len(ch) > 1 else ch for ch in CONTROL_CHARACTERS.findall(text)})
    names = "、".join(_CONTROL_NAMES.get(ch, f"U+{ord(ch):04X}") for ch in found)
    notice(Finding(code=Code.CONTROL_CHARACTER, severity=Severity.WARNING,
                   location=location or Location(file=where),
                   message=f"内容中有不可见的控制字符（{names}），已删除"))
    return CONTROL_CHARACTERS.sub("", text)


def clean_lines(text: str, file: str) -> str:
    """A text file without control characters, each line that had some named in a finding (before any parser sees
    them: YAML refuses them outright)."""
    if not has_controls(text):
        return text
    from .model import Location

    lines = text.split("\n")
    for k, line in enumerate(lines):
        if CONTROL_CHARACTERS.search(line):
            lines[k] = remove_controls(line, f"{file} 第 {k + 1} 行", Location(file=file, row=k + 1))
    return "\n".join(lines)


def clean_strings(data, file: str, path: tuple = ()):
    """Every string in parsed data (a JSON "\\u000b", a YAML "\\v" escape) without control characters; located
    by its keys."""
    if isinstance(data, str):
        if has_controls(data):
            from .model import Location

            where = " → ".join(str(p) for p in path) or "（根）"
            return remove_controls(data, f"{file} {where}", Location(file=file, column=where))
        return data
    if isinstance(data, dict):
        return {k: clean_strings(v, file, (*path, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [clean_strings(v, file, (*path, k + 1)) for k, v in enumerate(data)]
    return data


_CONTROL_NAMES = {"\x00": "NUL", "\x0b": "垂直制表符 \\v", "\x0c": "换页符 \\f", "\x1b": "ESC", "\x7f": "DEL"}


def check_zip(path, what: str = "文件") -> None:
    """An Office file is a zip: refuse one that would unpack to more than EVALUATOR_MAX_UNPACKED_MB (default 500)
    — a zip bomb — before any library opens it."""
    import zipfile

    most = limit("MAX_UNPACKED_MB", 500)
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a readable zip: the reader that opens it reports that
    if total > most * 1024 * 1024:
        raise InputFileError(f"{what}解压后过大（{total / 1024 / 1024:.0f} MB，上限 {most:g} MB），可能是恶意文件",
                             where=str(path), hint="请确认文件来源；确需处理，可设置 EVALUATOR_MAX_UNPACKED_MB")


def check_file_size(path, what: str = "文件") -> None:
    """Every input file passes here first: it must exist, be a file, and be no larger than $EVALUATOR_MAX_FILE_MB
    (default 50 MB); a zip (every Office file) is also checked for its unpacked size. The type is ``intake.sniff``'s."""
    from pathlib import Path

    if not Path(path).exists():
        raise InputFileError(f"{what}不存在", where=str(path), hint="请检查路径")
    if not Path(path).is_file():
        raise InputFileError(f"{what}不是文件（是一个目录）", where=str(path), hint="请指定文件而不是目录")
    most = limit("MAX_FILE_MB", 50)
    size = Path(path).stat().st_size
    if size > most * 1024 * 1024:
        raise InputFileError(f"{what}过大（{size / 1024 / 1024:.2f} MB，上限 {most:g} MB）", where=str(path),
                             hint="请确认选对了文件；确需处理更大的文件，可设置环境变量 EVALUATOR_MAX_FILE_MB")
    with open(path, "rb") as fh:
        if fh.read(4) == b"PK\x03\x04":  # any zip (an Office file whatever its extension): unpacked size first
            check_zip(path, what)


class OutputFileError(EvaluatorError):
    """An output that cannot be written: a full disk, a read-only folder, a path that is no folder."""


def os_error_message(e: OSError, doing: str = "写入") -> tuple[str, str]:
    """What went wrong with a file, in Chinese, and what to do: (message, hint)."""
    import errno

    code = e.errno
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", -1):
        return f"磁盘空间不足，无法{doing}", "请清理磁盘空间，或用 -o 换一个输出位置"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"没有{doing}权限：目录只读，或文件正被其他程序打开", "请用 -o 换一个可写的位置，或关闭打开该文件的 Excel、WPS"
    if code in (errno.ENOENT, errno.ENOTDIR):
        return f"路径不存在或其中有一段不是目录，无法{doing}", "请检查路径"
    if code == errno.EISDIR:
        return f"路径是一个目录，无法{doing}", "请指定文件名"
    if code == errno.ENAMETOOLONG:
        return f"文件名过长，无法{doing}", "请缩短输出路径"
    return f"无法{doing}（{e.strerror or type(e).__name__}）", "请检查路径和磁盘"


class RuleSetError(EvaluatorError):
    """A rule set that fails validation; raised on load, before any data is scored."""


class Code(StrEnum):
    """Stable kebab-case finding codes (appear in JSON and reports)."""

    UNREADABLE_TARGET = "unreadable-target"
    UNREADABLE_ACTUAL = "unreadable-actual"
    BLANK_TARGET = "blank-target"
    TARGET_FROM_NAME = "target-from-name"
    TARGET_FROM_RULE = "target-from-rule"
    MISSING_ACTUAL = "missing-actual"
    MISSING_DEVIATION_NOTE = "missing-deviation-note"
    UNIT_MISMATCH = "unit-mismatch"
    RATE_NEEDS_BASE = "rate-needs-base"
    WORD_ACTUAL = "word-actual"
    QUALITATIVE_ASSUMED = "qualitative-assumed"
    TARGET_CONTRADICTS_NOTES = "target-contradicts-notes"
    QUANTITY_CEILING = "quantity-ceiling"
    COST_WITHOUT_CEILING = "cost-without-ceiling"
    WEIGHTS_NOT_100 = "weights-not-100"
    GROUP_WEIGHT_MISMATCH = "group-weight-mismatch"
    MISSING_WEIGHT = "missing-weight"
    UNKNOWN_GROUP = "unknown-group"
    GROUP_RESCALED = "group-rescaled"
    CLAIMED_SCORE_MISMATCH = "claimed-score-mismatch"
    CLAIMED_TOTAL_MISMATCH = "claimed-total-mismatch"
    UNMATCHED_ACTUAL = "unmatched-actual"
    ACTUALS_OTHER_UNIT = "actuals-other-unit"
    ACTUALS_OTHER_YEAR = "actuals-other-year"
    DUPLICATE_INDICATOR = "duplicate-indicator"
    OVER_ACHIEVEMENT = "over-achievement"
    NOT_APPLICABLE = "not-applicable"
    COST_FROM_SPENT = "cost-from-spent"
    MISSING_BUDGET = "missing-budget"
    LOW_EXECUTION = "low-execution"
    TOTAL_CAPPED = "total-capped"
    NEGATIVE_ACTUAL = "negative-actual"
    LATE = "late"
    JUDGED_OUT_OF_BAND = "judged-out-of-band"
    FORM_UNPLACED = "form-unplaced"
    CONTROL_CHARACTER = "control-character"
    SHEET_READ = "sheet-read"
