"""The rule files under rules/checks/ (目标审核, monitoring, year on year): one strict base model and one loader.

Each file has an id, a version, a title and named sources; each of its sections names the source it follows, and a
section naming an unknown source is refused when the file is loaded — as a rule set is (rules.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import RuleSetError
from .rules import Source, rules_dir

__all__ = ["CheckRules", "Section", "load_check_rules", "check_rules_path"]

T = TypeVar("T", bound="CheckRules")


class Section(BaseModel):
    """A section of a checks file: the source it follows, and whether it is on."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    enabled: bool = True


class CheckRules(BaseModel):
    """Base of the checks files; ``SECTIONS`` lists the fields that are sections (each names a source)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    SECTIONS: ClassVar[tuple[str, ...]] = ()
    id: str
    version: str
    title: str
    sources: dict[str, Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _sources_known(self) -> "CheckRules":
        for name in self.SECTIONS:
            ref = getattr(self, name).source
            if ref not in self.sources:
                raise ValueError(f"“{name}.source”引用的依据“{ref}”不在 sources 中（可用：{'、'.join(self.sources)}）")
        return self

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"


def check_rules_path(name: str, ref: str | Path | None = None) -> Path:
    """A checks file: ``ref`` if it is a file, else rules/checks/<ref or name>.yaml (the bundled one if the rules
    folder in use has none)."""
    if ref is not None and Path(ref).is_file():
        return Path(ref)
    stem = str(ref) if ref is not None else name
    for folder in (rules_dir() / "checks", Path(__file__).resolve().parent.parent / "rules" / "checks"):
        path = folder / f"{stem}.yaml"
        if path.is_file():
            return path
    raise RuleSetError(f"找不到规则“{stem}”", where=str(rules_dir() / "checks"),
                       hint="请指定规则文件路径，或使用随附的 rules/checks 下的规则")


def load_check_rules(model: type[T], name: str, ref: str | Path | None = None) -> T:
    """Read and validate a checks file into ``model`` (a located Chinese message when it is wrong)."""
    import yaml

    from .rules import describe_validation

    path = check_rules_path(name, ref)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise RuleSetError("无法读取规则文件或 YAML 格式有误", where=str(path), hint="请检查缩进和冒号") from e
    if not isinstance(data, dict):
        raise RuleSetError("规则文件应为键值映射", where=str(path))
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise RuleSetError(describe_validation(e, model), where=str(path)) from e
