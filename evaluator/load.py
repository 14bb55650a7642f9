"""Read data/targets, data/actuals and flat 自评表 files into validated models.

Unusable files raise ``InputFileError`` naming the file and place; everything else is left to scoring,
which reports it as findings.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputFileError, check_file_size
from .model import ActualSet, TargetSet

__all__ = ["load_targets", "load_actuals", "read_flat_table", "inputs_hash"]


def inputs_hash(*paths: str | Path) -> str:
    """A short hash of the input files' bytes: printed on outputs so a result can be traced to its inputs."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:12]


def _read_mapping(path: Path) -> dict:
    check_file_size(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputFileError("文件不是 UTF-8 编码的文本", where=str(path), hint="请另存为 UTF-8") from e
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else getattr(e, "lineno", None)
        where = f"{path} 第 {line} 行" if line else str(path)
        raise InputFileError("文件格式有误，无法解析", where=where, hint="请检查缩进、冒号和引号") from e
    if not isinstance(data, dict):
        raise InputFileError("文件内容应为键值映射（YAML/JSON 对象）", where=str(path))
    return data


def _validation_message(e: ValidationError, data: dict) -> str:
    msgs = []
    for err in e.errors()[:5]:
        loc = err["loc"]
        where = _describe_loc(loc, data)
        kind = err["type"]
        if kind == "extra_forbidden":
            msgs.append(f"{where}：未知的键“{loc[-1]}”，请检查拼写")
        elif kind == "missing":
            msgs.append(f"{where}：缺少必填项“{loc[-1]}”")
        else:
            msgs.append(f"{where}：取值“{err.get('input')}”无效（{err['msg']}）")
    more = len(e.errors()) - 5
    return "；".join(msgs) + (f"；另有 {more} 处" if more > 0 else "")


def _describe_loc(loc: tuple, data: Any) -> str:
    parts: list[str] = []
    node = data
    for p in loc:
        if isinstance(p, int):
            name = node[p].get("level3") or node[p].get("三级指标") or node[p].get("indicator") or node[p].get("id") \
                if isinstance(node, list) and p < len(node) and isinstance(node[p], dict) else None
            parts.append(f"第 {p + 1} 项" + (f"（{name}）" if name else ""))
            node = node[p] if isinstance(node, list) and p < len(node) else None
        else:
            parts.append(str(p))
            node = node.get(p) if isinstance(node, dict) else None
    return " → ".join(parts)


def _validate(model: type[BaseModel], data: dict, path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise InputFileError(_validation_message(e, data), where=str(path), hint="请对照 README 中的数据文件格式修改") from e


def _load(model: type[BaseModel], p: Path) -> Any:
    """Read and validate a data file. JSON goes straight to pydantic's JSON validator (no Python dicts in
    between: the bureau's batch reads thousands); anything it rejects is read again the slow way, which gives
    the located Chinese message."""
    if p.suffix.lower() == ".json":
        check_file_size(p)
        try:
            return model.model_validate_json(p.read_bytes())
        except (ValidationError, ValueError):
            pass
    return _validate(model, _read_mapping(p), p)


def load_targets(path: str | Path) -> TargetSet:
    """A data/targets file (YAML or JSON) → ``TargetSet``."""
    p = Path(path)
    targets = _load(TargetSet, p)
    ids = [t.id for t in targets.tables]
    if dup := sorted({i for i in ids if ids.count(i) > 1}):
        raise InputFileError(f"表编号重复：{', '.join(dup)}", where=str(p), hint="每张表的 id 必须唯一")
    return targets


def load_actuals(path: str | Path) -> ActualSet:
    """A data/actuals file (YAML or JSON) → ``ActualSet``."""
    p = Path(path)
    return _load(ActualSet, p)


# --------------------------------------------------------------------------- flat 自评表 (CSV / Excel / Word)
def read_flat_table(path: str | Path, *, budget: float | None = None, spent: float | None = None,
                    unit_name: str | None = None, year: int | None = None) -> tuple[TargetSet, ActualSet]:
    """A filled-in 自评表 (CSV, Excel or Word; the official layout with its header, or just the indicator columns) →
    targets and actuals, read by the same reader as ``import`` (its header fields — 项目名称, 主管部门, 实施单位, the
    year, the budget block — included); ``budget`` / ``spent`` / ``unit_name`` / ``year`` only override."""
    from .intake import read_flat

    tset, aset, _ = read_flat(Path(path), budget=budget, spent=spent, unit_name=unit_name, year=year)
    return tset, aset
