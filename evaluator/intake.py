"""What a file is and how it gets in: its type decided by its content (zip / OLE / PDF / text signatures), legacy
Word files converted with LibreOffice, and every command's inputs routed to their reader — a data file, a Word or
Excel form, a flat 自评表, the fill-in workbook — with a message that says what to do when they do not fit
(a form where an actuals file belongs, targets and actuals swapped, a .doc without LibreOffice).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import InputFileError, check_file_size, check_zip, collecting, limit
from .grids import Grid, csv_grid, docx_grids, sheet_grids
from .model import ActualSet, BudgetExecution, Finding, TargetSet

__all__ = ["sniff", "form_grids", "read_inputs", "read_targets", "Inputs", "convert_with_libreoffice", "KIND_LABEL"]

KIND_LABEL = {
    "docx": "Word 文件（.docx）", "doc": "旧版 Word/WPS 文字文件（.doc/.wps）", "xlsx": "Excel 文件（.xlsx）",
    "xls": "旧版 Excel/WPS 表格文件（.xls/.et）", "ods": "OpenDocument 表格（.ods）", "odt": "OpenDocument 文档（.odt）",
    "csv": "CSV 文本", "yaml": "YAML 数据文件", "json": "JSON 数据文件", "pdf": "PDF 文件", "html": "网页（HTML）文件",
    "encrypted": "设置了打开密码的 Office 文件（或已损坏）", "text": "文本文件", "ppt": "PowerPoint 文件", "zip": "压缩包（zip）", "image": "图片",
    "program": "程序文件", "empty": "空文件", "binary": "无法识别的二进制文件",
}
SHEETS = {"xlsx", "xls", "ods"}
DOCUMENTS = {"docx", "doc", "odt"}
FORMS = SHEETS | DOCUMENTS | {"csv"}
DATA = {"yaml", "json"}


# --------------------------------------------------------------------------- what a file is
def sniff(path: Path) -> str:
    """The file's type from its first bytes (and, for zip and OLE containers, the names inside), not its extension.

    Text files are told apart by their extension first (.yaml/.json/.csv), then by their shape."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        return "empty"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(path)
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"\x7fELF", b"MZ")):
        return "program"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "image"
    if head.startswith(b"{\\rtf"):
        return "doc"  # RTF saved as .doc: LibreOffice reads it
    text = None
    for enc in ("utf-8-sig", "gb18030", "utf-16"):
        try:
            text = head.decode(enc)
            break
        except UnicodeDecodeError:
            # a multi-byte character cut at the 4,096th byte
            try:
                text = head[:-3].decode(enc)
                break
            except UnicodeDecodeError:
                continue
    if text is None or text.count("\x00") > max(2, len(text) // 100):  # a stray NUL in a text file is cleaned by its reader
        return "binary"
    lower = text.lstrip().lower()
    if lower.startswith(("<!doctype html", "<html", "<table", "<?xml")) and ("<table" in lower or "<html" in lower):
        return "html"
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    office = suffix in (".docx", ".doc", ".wps", ".xlsx", ".xlsm", ".xls", ".et", ".pdf")
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    if first.lstrip().startswith(("{", "[")) and not office:
        return "json"
    if first.count(",") >= 2 or first.count("\t") >= 2:
        return "csv"
    return "text" if office else "yaml"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            mime = z.read("mimetype").decode("ascii", "replace") if "mimetype" in names else ""
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        suffix = path.suffix.lower()  # a truncated Office file: its reader says it is broken
        return {".docx": "docx", ".xlsx": "xlsx", ".xlsm": "xlsx"}.get(suffix, "zip")
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if "spreadsheet" in mime:
        return "ods"
    if "opendocument.text" in mime:
        return "odt"
    if "ppt/presentation.xml" in names:
        return "ppt"
    suffix = path.suffix.lower()
    if suffix in (".docx", ".wps") and any(n.startswith("word/") for n in names):
        return "docx"
    return {".docx": "docx", ".xlsx": "xlsx", ".xlsm": "xlsx"}.get(suffix, "zip")


def _ole_kind(path: Path) -> str:
    """An OLE compound file: Excel/WPS 表格 (a Workbook stream), Word/WPS 文字, an encrypted OOXML file, PowerPoint."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(s) for s in ole.listdir()}
    except Exception:  # noqa: BLE001 - olefile raises many types for a damaged container
        return "encrypted"  # the OLE header of an encrypted OOXML file whose directory cannot be read, or damage
    if {"EncryptionInfo", "EncryptedPackage"} & streams:
        return "encrypted"
    if {"Workbook", "Book", "WORKBOOK", "BOOK"} & streams:
        return "xls"
    if "PowerPoint Document" in streams:
        return "ppt"
    if "WordDocument" in streams or any(s.lower().startswith(("wps", "kingsoft")) for s in streams) or \
            path.suffix.lower() in (".doc", ".wps"):
        return "doc"
    return "binary"


def _refuse(path: Path, kind: str, wanted: str) -> InputFileError:
    """The message for a file of a kind a command cannot use; it says what the file is and what to do."""
    what = KIND_LABEL.get(kind, kind)
    what = f" {what}" if what[:1].isascii() else what
    ext = path.suffix or "（无扩展名）"
    said = f"扩展名是 {ext}，但实际是{what}" if not _ext_matches(path, kind) else f"是{what}"
    hints = {
        "encrypted": "请在 Excel/WPS 中去掉打开密码后另存，再试",
        "pdf": "请使用原始的 Word/Excel 文件（PDF 中的表格无法可靠读取）",
        "html": "这是网页导出的表格：请用 Excel/WPS 打开后“另存为” .xlsx，再试",
        "ppt": "请使用绩效目标表或自评表的 Word/Excel 文件",
        "image": "请使用原始的 Word/Excel 文件",
    }
    return InputFileError(f"文件{said}，{wanted}", where=str(path),
                          hint=hints.get(kind, "请确认选对了文件：可用 Word（.docx/.doc/.wps）、Excel（.xlsx/.xls/.et）、"
                                               "CSV 或 YAML/JSON 数据文件"))


def _ext_matches(path: Path, kind: str) -> bool:
    exts = {"docx": {".docx"}, "doc": {".doc", ".wps", ".rtf"}, "xlsx": {".xlsx", ".xlsm"}, "xls": {".xls", ".et"},
            "csv": {".csv", ".tsv", ".txt"}, "yaml": {".yaml", ".yml"}, "json": {".json"}, "pdf": {".pdf"},
            "html": {".html", ".htm"}, "ods": {".ods"}, "odt": {".odt"}}
    return path.suffix.lower() in exts.get(kind, set())


# --------------------------------------------------------------------------- legacy documents via LibreOffice
def soffice_path() -> str | None:
    """LibreOffice's command (``EVALUATOR_SOFFICE`` overrides where it is looked for)."""
    given = os.environ.get("EVALUATOR_SOFFICE")
    if given is not None:
        return given if given and Path(given).exists() else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_libreoffice(path: Path, to: str = "docx") -> bytes:
    """A .doc/.wps/.odt (or .et/.xls LibreOffice must read) converted with LibreOffice headless; the converted bytes.

    Each conversion gets its own LibreOffice profile folder (two soffice processes on one profile clash) and a time
    limit (EVALUATOR_CONVERT_SECONDS, default 120); the whole process group is ended when it runs over."""
    soffice = soffice_path()
    if soffice is None:
        raise InputFileError(f"读取 {path.suffix or '此类'} 文件需要 LibreOffice，但本机没有安装", where=str(path),
                             hint="请安装 LibreOffice（https://www.libreoffice.org/ ；Debian/Ubuntu：apt-get install "
                                  "libreoffice-writer libreoffice-calc），或在 Word/WPS 中打开该文件，“另存为” "
                                  f"{'.docx' if to == 'docx' else '.xlsx'} 后再试")
    seconds = limit("CONVERT_SECONDS", 120)
    with tempfile.TemporaryDirectory(prefix="evaluator-convert-") as tmp:
        work = Path(tmp)
        src = work / ("input" + (path.suffix.lower() if path.suffix.isascii() and len(path.suffix) <= 5 else ".doc"))
        shutil.copyfile(path, src)
        out = work / "out"
        cmd = [soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--norestore",
               "--nologo", "--nolockcheck", "--convert-to", to, "--outdir", str(out), str(src)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, "HOME": tmp})
        try:
            _, err = proc.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise InputFileError(f"LibreOffice 转换超时（超过 {seconds:g} 秒）", where=str(path),
                                 hint="请在 Word/WPS 中打开该文件，另存为 .docx/.xlsx 后再试；确需更长时间，可设置 "
                                      "EVALUATOR_CONVERT_SECONDS") from None
        result = out / f"input.{to}"
        if proc.returncode != 0 or not result.exists():
            detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] if err else []
            raise InputFileError("LibreOffice 无法转换该文件" + (f"（{detail[0][:80]}）" if detail else ""),
                                 where=str(path), hint="文件可能已损坏或加密；请在 Word/WPS 中打开并另存为 .docx/.xlsx 后再试")
        return result.read_bytes()


# --------------------------------------------------------------------------- grids of a form file
def form_grids(path: Path, kind: str | None = None) -> list[Grid]:
    """A Word, Excel or CSV file as grids, whatever its extension says; anything else is refused with what it is."""
    check_file_size(path)
    kind = kind or sniff(path)
    if kind in ("docx", "xlsx"):
        check_zip(path)
    if kind == "docx":
        return docx_grids(path)
    if kind in SHEETS:
        try:
            return sheet_grids(path)
        except InputFileError:
            if kind != "xls" or path.suffix.lower() != ".et" or soffice_path() is None:
                raise
            return _converted(path, "xlsx")  # a WPS .et calamine cannot read: LibreOffice can
    if kind in ("doc", "odt"):
        return _converted(path, "docx")
    if kind == "csv":
        return [csv_grid(path)]
    raise _refuse(path, kind, "不是绩效目标表或自评表的 Word/Excel/CSV 文件")


def table_rows(path: Path) -> list[list[str]]:
    """The rows of a plain list (CSV, or the first visible sheet of a workbook), read like every input."""
    grids = form_grids(path)
    return grids[0].cells if grids else []


def _converted(path: Path, to: str) -> list[Grid]:
    data = convert_with_libreoffice(path, to)
    with tempfile.TemporaryDirectory(prefix="evaluator-read-") as tmp:
        copy = Path(tmp) / f"converted.{to}"
        copy.write_bytes(data)
        grids = docx_grids(copy) if to == "docx" else sheet_grids(copy)
    for g in grids:
        g.file = str(path)
    return grids


# --------------------------------------------------------------------------- every command's inputs
@dataclass
class Inputs:
    """The targets and actuals a command works on, where they came from, and what reading them found."""

    targets: TargetSet
    actuals: ActualSet | None
    findings: list[Finding] = field(default_factory=list)
    one_file: bool = False  # targets and actuals from one 自评表
    notes: list[str] = field(default_factory=list)  # which sheet was read, which hidden sheets were skipped
    # read without models (``read_inputs(models=False)``, a 自评表): the indicator rows as columns by table id,
    # for ``frame.block_frame``; the tables then list no indicators
    blocks: dict = field(default_factory=dict)


def read_targets(path: Path, unit_name: str | None = None) -> tuple[TargetSet, ActualSet | None, list[Finding]]:
    """Targets from a data file (YAML/JSON) or a form (Word/Excel/CSV, a 自评表 giving actuals too)."""
    return _read_targets(path, unit_name)[:3]


def _read_targets(path: Path, unit_name: str | None = None, models: bool = True
                  ) -> tuple[TargetSet, ActualSet | None, list[Finding], dict]:
    """``read_targets``, and a form's indicator rows as columns when read without ``models``."""
    from .forms import parse_forms
    from .load import load_targets

    check_file_size(path)
    kind = sniff(path)
    if kind in DATA:
        try:
            return load_targets(path), None, [], {}
        except InputFileError:
            if _looks_like_actuals(path):
                raise InputFileError("这是实际完成值文件，不是目标表", where=str(path),
                                     hint="是否把目标表和实际完成值的顺序写反了？用法：evaluator score 目标表 实际完成值") from None
            raise
    if kind in SHEETS and _is_fill_in_workbook(path):
        raise InputFileError("这是自评填报表（实际完成值），不是目标表", where=str(path),
                             hint="是否把目标表和实际完成值的顺序写反了？用法：evaluator score 目标表 自评填报.xlsx")
    if kind in FORMS:
        from .load import paused_gc, values_in_range  # (values_in_range: a year, 分值 or amount out of range)

        # (a 200,000-row CSV is 200,000 row lists, none in a cycle: the collector walked them again and again)
        with values_in_range(str(path)), paused_gc():
            result = parse_forms(path, form_grids(path, kind), unit_name, models=models)
        return result.targets, result.actuals, result.findings, result.blocks
    raise _refuse(path, kind, "不能作为目标表")


def read_flat(path: Path, *, budget: float | None = None, spent: float | None = None, unit_name: str | None = None,
              year: int | None = None) -> tuple[TargetSet, ActualSet, list[Finding]]:
    """A filled 自评表 — targets and actuals from one file. What makes it unusable for scoring is raised: no
    actuals column (a 目标表), no indicator rows, a 分值 or 得分 that is not a number."""
    tset, aset, findings = read_targets(path, unit_name)
    return _one_file(path, tset, aset, findings, budget, spent, unit_name, year)


def _one_file(path: Path, tset: TargetSet, aset: ActualSet | None, findings: list[Finding], budget: float | None,
              spent: float | None, unit_name: str | None, year: int | None, blocks: dict | None = None
              ) -> tuple[TargetSet, ActualSet, list[Finding]]:
    if aset is None:
        raise InputFileError("缺少必需的列：实际完成值（这是绩效目标表，不是已填好的自评表）", where=str(path),
                             hint=f"目标表请这样用：evaluator template {path.name} 生成填报表，填好后 evaluator score "
                                  f"{path.name} 自评填报.xlsx")
    if not any(t.indicators for t in tset.tables) and not any(b.columns["level3"] for b in (blocks or {}).values()):
        raise InputFileError("表头下没有指标行", where=str(path))
    for f in findings:
        if f.severity == "error":
            raise InputFileError(f.message, where=f.location.describe().removeprefix("文件 "),
                                 hint="请改正公式，或填写 0–100 之间的数字，或留空")
    if not tset.unit_name:  # a bare indicator table: named by its file, as before
        name = unit_name or path.stem
        tset = tset.model_copy(update={"unit_name": name, "tables": [
            t.model_copy(update={"unit_name": t.unit_name or name}) for t in tset.tables]})
        aset = aset.model_copy(update={"unit_name": name})
        findings = [f for f in findings if "请用 --unit 指定" not in f.message]
    if year:
        tset = tset.model_copy(update={"year": year, "tables": [t.model_copy(update={"year": year}) for t in tset.tables]})
        aset = aset.model_copy(update={"year": year})
    from .load import values_in_range

    with values_in_range(str(path)):  # --budget/--spent out of range
        return tset, _override_budget(aset, budget, spent), findings


def read_inputs(targets: Path, actuals: Path | None, budget: float | None = None, spent: float | None = None,
                *, need_actuals: bool = True, models: bool = True) -> Inputs:
    """Targets and actuals for score / check / report / template, each file read by what it is.

    A filled 自评表 (Word, Excel or CSV, with its own header and budget block) gives both; ``budget`` / ``spent``
    then only override what it says. A 绩效目标表 form stands for a targets data file (no import step needed).
    ``models=False``: a 自评表's indicator rows stay columns (``Inputs.blocks``; ``score --json`` and ``check``
    go from them to the scoring frame); any other input is read as models all the same."""
    blocks: dict = {}
    with collecting() as found:
        tset, aset, findings, blocks = _read_targets(targets, None, models)
        one_file = aset is not None
        if blocks and not one_file:  # a 目标表 form: its indicators are matched with another file's by name
            tset = _with_models(tset, blocks)
            blocks = {}
        if one_file:
            if actuals is not None:
                raise InputFileError("这份自评表已包含实际完成值，不需要再指定实际完成值文件", where=str(actuals),
                                     hint=f"用法：evaluator score {targets.name}（需要时加 --budget 全年预算数 --spent 全年执行数）")
            tset, aset, findings = _one_file(targets, tset, aset, findings, budget, spent, None, None, blocks)
        else:
            if budget is not None or spent is not None:
                raise InputFileError("--budget/--spent 只用于自评表（已含实际完成值的 Word/Excel/CSV）；目标表的预算执行情况"
                                     "写在实际完成值文件的 budget 中或填报表的“预算执行”工作表中",
                                     where=str(actuals or targets))
            if actuals is not None:
                aset = read_actuals(actuals, tset)
            elif need_actuals:
                raise InputFileError("缺少实际完成值文件", where=str(targets),
                                     hint=f"这是目标表：用法：evaluator score {targets.name} 实际完成值.yaml（或填好的自评填报"
                                          f".xlsx，用 evaluator template {targets.name} 生成）")
    notes = [x for x in found if isinstance(x, str)]
    return Inputs(tset, aset, [*findings, *(x for x in found if not isinstance(x, str))], one_file, notes, blocks)


def _with_models(tset: TargetSet, blocks: dict) -> TargetSet:
    """The targets with each table's indicator models built from its block (as ``parse_forms`` builds them)."""
    return tset.model_copy(update={"tables": [t.model_copy(update={"indicators": blocks[t.id].indicators})
                                              if t.id in blocks else t for t in tset.tables]})


def read_actuals(path: Path, targets: TargetSet, data_reader: Callable[[Path], Any] | None = None,
                 kind: str | None = None) -> ActualSet:
    """Actuals from a data file or the filled fill-in workbook; a form or a targets file here gets a message.
    ``data_reader``: what reads a data file instead of ``load.load_actuals`` (the bureau's batch: columns);
    ``kind``: the file's ``sniff`` when the caller has it already."""
    from .load import load_actuals

    check_file_size(path)
    kind = kind or sniff(path)
    if kind in DATA:
        try:
            return (data_reader or load_actuals)(path)
        except InputFileError:
            if _looks_like_targets(path):
                raise InputFileError("这是目标表数据文件，不是实际完成值", where=str(path),
                                     hint="是否把目标表和实际完成值的顺序写反了？用法：evaluator score 目标表 实际完成值") from None
            raise
    if kind in SHEETS:
        from .workbook import read_workbook

        try:
            return read_workbook(path, targets)
        except InputFileError:
            if _is_fill_in_workbook(path) or not _is_form(path):
                raise
        kind = "form"
    if kind in FORMS or kind == "form":
        raise InputFileError("这是一份绩效目标表或自评表，不是实际完成值文件", where=str(path),
                             hint="实际完成值请用 evaluator template 目标表 生成的填报表填写；已填好的自评表请单独给出："
                                  "evaluator score 自评表")
    raise _refuse(path, kind, "不能作为实际完成值文件")


def _override_budget(aset: ActualSet, budget: float | None, spent: float | None) -> ActualSet:
    if budget is None and spent is None:
        return aset
    tables = []
    for t in aset.tables:
        b = t.budget or BudgetExecution()
        update = {k: v for k, v in (("budget", budget), ("spent", spent)) if v is not None}
        tables.append(t.model_copy(update={"budget": BudgetExecution.model_validate({**b.model_dump(), **update})}))
    return aset.model_copy(update={"tables": tables})


def _is_fill_in_workbook(path: Path) -> bool:
    from .workbook import INSTRUCTIONS_SHEET, META_SHEET

    try:
        from python_calamine import CalamineWorkbook

        with open(path, "rb") as fh:
            names = set(CalamineWorkbook.from_filelike(fh).sheet_names)
    except Exception:  # noqa: BLE001 - unreadable: the reader that opens it says so
        return False
    return META_SHEET in names or INSTRUCTIONS_SHEET in names


def _is_form(path: Path) -> bool:
    from .forms import parse_forms

    try:
        parse_forms(path, form_grids(path))
    except InputFileError:
        return False
    return True


def _mapping(path: Path) -> dict | None:
    try:
        import yaml

        # (libyaml's loader when there is one: PyYAML's own took 50 ms on a broken 24 KB actuals file, read
        # again for every unreadable submission of a batch)
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception:  # noqa: BLE001 - only a probe for a better message
        return None
    return data if isinstance(data, dict) else None


def _looks_like_actuals(path: Path) -> bool:
    tables = (_mapping(path) or {}).get("tables")
    return isinstance(tables, list) and any(isinstance(t, dict) and "table" in t and "kind" not in t for t in tables)


def _looks_like_targets(path: Path) -> bool:
    tables = (_mapping(path) or {}).get("tables")
    return isinstance(tables, list) and any(isinstance(t, dict) and "kind" in t and "table" not in t for t in tables)
