"""The stable JSON shape of an evaluation, and atomic file writes."""
from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

from .errors import OutputFileError, os_error_message
from .model import Evaluation, Finding, TableKind

__all__ = ["evaluation_json", "write_atomic", "inputs_protected", "is_input", "no_formulas", "SHEET_FORBIDDEN",
           "print_a4_landscape", "print_a4_landscape_xlsxwriter", "wrapped_lines", "safe_name", "unique_names"]


INDICATOR_KEYS = ("table", "level1", "level2", "level3", "target", "actual", "weight", "score", "status", "rule",
                  "method", "explanation", "claimed_score", "deviation_note")  # an indicator of the --json object


def _indicator(i) -> dict[str, Any]:
    return {k: getattr(i, k) for k in INDICATOR_KEYS}


def _table(t) -> dict[str, Any]:
    return {
        "table": t.table, "title": t.title, "kind": t.kind.value, "total": t.total, "grade": t.grade,
        "complete": t.complete, "undetermined": t.undetermined, "cap": t.cap,
        "execution": {"rate": t.execution.rate, "score": t.execution.score, "budget": t.execution.budget,
                      "spent": t.execution.spent, "explanation": t.execution.explanation},
        "groups": t.groups,
    }


def evaluation_json(ev: Evaluation) -> dict[str, Any]:
    """The documented ``--json`` object. Top-level total/grade/execution are those of the single scored table,
    or of the 部门整体 table when there are several; ``tables`` has each one's totals, and ``indicators`` every
    indicator once, in input order, each naming its table."""
    main = ev.tables[0] if len(ev.tables) == 1 else next((t for t in ev.tables if t.kind == TableKind.DEPARTMENT), None)
    return {
        "unit_name": ev.unit_name,
        "year": ev.year,
        "rule_set": {"id": ev.rule_set, "version": ev.rule_version},
        "inputs_hash": ev.inputs_hash,
        "example": ev.example,
        "total": main.total if main else None,
        "grade": main.grade if main else None,
        "complete": main.complete if main else all(t.complete for t in ev.tables),
        "execution": {"rate": main.execution.rate, "score": main.execution.score} if main else None,
        "indicators": [_indicator(i) for t in ev.tables for i in t.indicators],
        "tables": [_table(t) for t in ev.tables],
        "findings": findings_json(ev.findings),
    }


def json_chunks(payload: dict[str, Any], lists: dict[str, Iterable[list[Any]]]) -> Iterator[bytes]:
    """``dumps(payload)`` as UTF-8 pieces (bytes or memoryviews of them), with the top-level lists named in ``lists`` taken from there (lists of
    items, e.g. the indicators 10,000 at a time, encoded one list at a time): a 200,000-row table, or 200,000
    findings, are never held as one object tree nor as one text. The bytes are exactly those of ``dumps`` with
    the lists in place."""
    marks = {key: f"\x00evaluator-{key}\x00" for key in lists}  # no input text holds a NUL (removed at load)
    rest = _utf8({**payload, **marks})
    for key in (k for k in payload if k in lists):
        head, rest = rest.split(orjson.dumps(marks[key]), 1)
        yield head
        first = True
        for part in lists[key]:
            if not part:
                continue
            # a list as the value of a top-level key is indented as in the payload: '{\n  "": [\n' … '\n  ]\n}\n'
            # around its items
            text = _utf8({"": part})
            yield b"[\n" if first else b",\n"
            yield memoryview(text)[len(_OPEN):-len(_CLOSE)]  # (not a copy of the piece's megabytes)
            first = False
        yield b"[]" if first else b"\n  ]"
    yield rest


_OPEN, _CLOSE = b'{\n  "": [\n', b"\n  ]\n}\n"


def findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    """The ``findings`` of the ``--json`` object (also all that ``check --json`` prints)."""
    return [{"code": f.code, "severity": f.severity.value, "message": f.message,
             "location": f.location.model_dump(exclude_none=True)} for f in findings]


def findings_chunks(findings: list[Finding], chunk: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    """``findings_json`` ``chunk`` findings at a time (for ``json_chunks``)."""
    for start in range(0, len(findings), chunk):
        yield findings_json(findings[start:start + chunk])


_INPUTS: ContextVar[tuple[Path, ...]] = ContextVar("evaluator_inputs", default=())


@contextmanager
def inputs_protected(*paths: str | Path | None) -> Iterator[None]:
    """While inside, ``write_atomic`` refuses to write over any of ``paths`` (a command's own inputs): ``score T
    自评填报.xlsx -o 自评填报.xlsx`` must not replace the filled workbook with JSON. Compared as resolved paths and,
    for existing files, as the same file (a hard or symbolic link)."""
    token = _INPUTS.set(_INPUTS.get() + tuple(Path(p) for p in paths if p is not None))
    try:
        yield
    finally:
        _INPUTS.reset(token)


def is_input(p: Path) -> Path | None:
    """The protected input that ``p`` is (see ``inputs_protected``), if any."""
    for src in _INPUTS.get():
        try:
            if src.resolve() == p.resolve() or (p.exists() and src.exists() and os.path.samefile(src, p)):
                return src
        except OSError:
            continue
    return None


def _file_mode(p: Path) -> int:
    """The mode a new file gets from the user's umask (mkstemp creates 0600, which colleagues and an intranet
    server cannot read); a file being replaced keeps its own mode."""
    try:
        return p.stat().st_mode & 0o7777
    except OSError:
        pass
    try:  # Linux says the umask without changing it; elsewhere set and restore it
        with open("/proc/self/status", encoding="ascii") as fh:
            umask = next(int(line.split()[1], 8) for line in fh if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | Path, data: "bytes | str | Iterable[bytes]") -> Path:
    """Write to a temporary file beside ``path`` and rename it into place: readers see the old or the new file.

    Never over a command's own input (``inputs_protected``); the file gets the permissions of the user's umask."""
    p = Path(path)
    source = is_input(p)
    if source is not None:
        raise OutputFileError("输出文件与输入文件是同一个文件，已拒绝写入（否则会覆盖输入）", where=str(p),
                              hint="请用 -o/--output 指定另一个文件名")
    payload = data.encode("utf-8") if isinstance(data, str) else data  # (or an iterable of bytes, written in turn)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        mode = _file_mode(p)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as e:  # a read-only or missing folder: the one-line message, never a traceback
        message, hint = os_error_message(e)
        raise OutputFileError(message, where=str(p), hint=hint) from e
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            for piece in ((payload,) if isinstance(payload, (bytes, bytearray)) else payload):
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)  # a full disk leaves no half-written file, and the old one in place
        if isinstance(e, OSError):
            message, hint = os_error_message(e)
            raise OutputFileError(message, where=str(p), hint=hint) from e
        raise
    return p


def dumps(obj: Any) -> str:
    """JSON as evaluator prints and writes it: UTF-8 text, two-space indent, keys in their given order.

    orjson (C) instead of the json module, whose indenting encoder is pure Python and took seconds on a large
    table; the layout is that of ``json.dumps(obj, ensure_ascii=False, indent=2)``. A non-finite float becomes
    null, never ``NaN``/``Infinity`` (not JSON). An integer beyond 64 bits, which orjson refuses, falls back to
    the json module."""
    return _utf8(obj).decode("utf-8")


def _utf8(obj: Any) -> bytes:
    """``dumps(obj)`` as the UTF-8 bytes orjson makes (written without decoding them to encode them again)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n"
    except orjson.JSONEncodeError:
        return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def no_formulas(wb) -> None:
    """Text from the inputs is written as text: a name or reason starting with = + - @ never becomes a formula.

    openpyxl stores any string that starts with "=" as a formula; evaluator writes no formulas of its own, so every
    such cell is turned back into a string."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")  # the characters Excel refuses in a sheet name


def print_a4_landscape(ws, title_rows: str | None = None, centred: bool = False) -> None:
    """An openpyxl sheet printed on A4 landscape, one page wide and as many pages down as it takes, ``title_rows``
    ("3:3") repeated on every page, centred across the page if asked."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if centred:
        ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows


def print_a4_landscape_xlsxwriter(ws, title_row: int) -> None:
    """``print_a4_landscape`` of an xlsxwriter sheet, its row ``title_row`` (from 0) repeated on every page."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(title_row)


def wrapped_lines(text: str, columns: float) -> int:
    """How many lines ``text`` wraps to in an Excel column ``columns`` units wide (a CJK character takes two):
    Excel does not grow rows for wrapped text when a file is opened, so writers size them from this."""
    room = max(columns, 1)
    return sum(max(1, -(-sum(2 if ord(c) > 0x2E7F else 1 for c in part) // room)) for part in str(text).split("\n"))


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\u2028\u2029]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)


def safe_name(name: str, limit: int = 120) -> str:
    """A file or folder name made from input text (a unit name, a title, a table id) that is safe on every system:
    no path separators or characters Windows forbids, no leading dots ("../x" cannot climb), no reserved device
    names (CON, NUL …), at most ``limit`` bytes of UTF-8 (cut at a character); never empty."""
    text = unicodedata.normalize("NFC", str(name))
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    text = re.sub(r"_+", "_", text).strip("_ .") or "未命名"
    if _RESERVED.match(text):
        text = f"_{text}"
    raw = text.encode("utf-8")
    if len(raw) > limit:
        text = raw[:limit].decode("utf-8", errors="ignore").rstrip(" .")
    return text


def unique_names(names: list[str]) -> list[str]:
    """``names`` with repeats numbered ("x", "x（2）"), compared without case as Windows and macOS do."""
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 2
        while candidate.casefold() in seen:
            candidate, n = f"{name}（{n}）", n + 1
        seen.add(candidate.casefold())
        out.append(candidate)
    return out
