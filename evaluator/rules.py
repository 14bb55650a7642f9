"""Rule sets (rules/*.yaml) and the registry of scoring methods they name.

A rule set is validated completely when it is loaded — unknown keys and unknown methods fail with a
"did you mean …" hint — so a bad rule never meets data. Each method is a small pydantic model holding its
parameters, with a vectorised ``fraction`` (share of the weight earned, 0–1) over numpy arrays and its
计算过程 in Chinese as a few templates (``texts``) with a vectorised choice among them (``text_case``): one row's
(``explain``) or a whole table's (``explain.frame_texts``) from the same words.
"""
from __future__ import annotations

from functools import lru_cache

import difflib
import os
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import RuleSetError
from .model import Band, BAND_LABEL

__all__ = ["RuleSet", "load_rules", "list_rule_sets", "METHODS", "method_from_dict", "rules_dir", "fmt", "describe_validation"]


@lru_cache(maxsize=1 << 16)
def fmt(x: float | None, decimals: int = 2) -> str:
    """A number as a clerk writes it: no trailing zeros beyond what is needed (cached: 计算过程 of a large table
    repeat the same weights, targets and scores)."""
    if x is None or x != x:  # None or NaN
        return "—"
    text = ("%.*f" % (decimals if decimals > 2 else 2, float(x))).rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- scoring methods
class Method(_Strict):
    """Base of all scoring methods. ``fraction`` gets arrays t (target), a (actual), w (weight).

    The 计算过程 is one of ``texts()`` — ``str.format`` templates over the row's a_text, t_text, w_text, raw_text and
    tol_text — chosen by ``text_case``, which reads fraction, t, a, band and judged as numbers or as arrays (numpy
    alike): a table of 200,000 rows fills each template column-wise instead of formatting every row in Python."""

    method: str
    name: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def fraction(self, t: np.ndarray, a: np.ndarray, w: np.ndarray, higher: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def texts(self) -> tuple[str, ...]:
        raise NotImplementedError

    def text_case(self, r: dict[str, Any]) -> Any:
        """The index into ``texts()`` of each row (an int array for arrays, else a 0-d one)."""
        return np.zeros(np.shape(r["fraction"]), dtype=np.int64)

    def explain(self, r: dict[str, Any]) -> str:
        """One row's 计算过程 (``r``: the template's fields and the values ``text_case`` reads)."""
        return self.texts()[int(self.text_case(r))].format_map(r)


def _full(r: dict[str, Any]) -> Any:
    """Case 0 where the row earned full marks, else 1 (the two texts of most methods)."""
    return np.where(np.asarray(r["fraction"]) >= 1, 0, 1)


def _literal(text: str) -> str:
    """Text put into a template as it is (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


METHODS: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    METHODS[cls.name] = cls
    return cls


def _safe_div(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(d != 0, n / np.where(d == 0, 1, d), np.nan)


@register
class Ratio(Method):
    """正向: met → full; short → 实际/目标 × 分值; no bonus above the target."""

    method: Literal["ratio"] = "ratio"
    name: ClassVar[str] = "ratio"
    label: ClassVar[str] = "正向指标按完成比例计分"

    def fraction(self, t, a, w, higher):
        r = _safe_div(a, t)
        return np.where(t <= 0, np.where(a >= t, 1.0, 0.0), np.clip(np.nan_to_num(r), 0, 1))

    def texts(self):
        return "实际 {a_text} 达到目标 {t_text}，得满分 {w_text}", "实际 {a_text} ÷ 目标 {t_text} × 分值 {w_text} = {raw_text}"

    text_case = staticmethod(_full)


@register
class InverseRatio(Method):
    """反向 (older forms): at or under target → full; over → 目标/实际 × 分值."""

    method: Literal["inverse-ratio"] = "inverse-ratio"
    name: ClassVar[str] = "inverse-ratio"
    label: ClassVar[str] = "反向指标按 目标÷实际 计分"

    def fraction(self, t, a, w, higher):
        r = _safe_div(t, a)
        return np.where(a <= t, 1.0, np.clip(np.nan_to_num(r), 0, 1))

    def texts(self):
        return "实际 {a_text} 未超过目标 {t_text}，得满分 {w_text}", "目标 {t_text} ÷ 实际 {a_text} × 分值 {w_text} = {raw_text}"

    text_case = staticmethod(_full)


@register
class LinearToZero(Method):
    """反向 (platform code): over target → (1 − (实际−目标)/目标) × 分值, zero at twice the target."""

    method: Literal["linear-to-zero"] = "linear-to-zero"
    name: ClassVar[str] = "linear-to-zero"
    label: ClassVar[str] = "反向指标超出部分线性扣分，超出一倍得0分"

    def fraction(self, t, a, w, higher):
        over = _safe_div(a - t, t)
        return np.where(a <= t, 1.0, np.where(t > 0, np.clip(1 - np.nan_to_num(over, nan=1.0), 0, 1), 0.0))

    def texts(self):
        return ("实际 {a_text} 未超过目标 {t_text}，得满分 {w_text}",
                "(1 − (实际 {a_text} − 目标 {t_text}) ÷ 目标 {t_text}) × 分值 {w_text} = {raw_text}")

    text_case = staticmethod(_full)


@register
class Equal(Method):
    """等于: met → full; target 0 → full only if actual ≤ 0; otherwise like 正向."""

    method: Literal["equal"] = "equal"
    name: ClassVar[str] = "equal"
    label: ClassVar[str] = "等于型指标：达到得满分，未达到按比例"

    def fraction(self, t, a, w, higher):
        r = _safe_div(a, t)
        return np.where(t == 0, np.where(a <= 0, 1.0, 0.0), np.clip(np.nan_to_num(r), 0, 1))

    def texts(self):
        return ("实际 {a_text} 达到目标 {t_text}，得满分 {w_text}", "目标为 0，实际 {a_text} 大于 0，得 0 分",
                "实际 {a_text} ÷ 目标 {t_text} × 分值 {w_text} = {raw_text}")

    def text_case(self, r):
        return np.where(np.asarray(r["fraction"]) >= 1, 0, np.where(np.asarray(r["t"]) == 0, 1, 2))


class BandStep(_Strict):
    within: float = Field(gt=1, description="multiple of the tolerance")
    fraction: float = Field(ge=0, le=1)


@register
class TwoSided(Method):
    """± band: within the tolerance → full; optional outer steps; else 0."""

    method: Literal["band"] = "band"
    name: ClassVar[str] = "band"
    label: ClassVar[str] = "区间型指标：在 ± 范围内得满分"
    outer: tuple[BandStep, ...] = ()

    def fraction(self, t, a, w, higher, tol=None):
        dev = np.abs(a - t)
        out = np.where(dev <= tol + 1e-12, 1.0, 0.0)
        for step in sorted(self.outer, key=lambda s: -s.within):
            out = np.where((dev > tol + 1e-12) & (dev <= tol * step.within + 1e-12), step.fraction, out)
        return out

    def texts(self):
        return ("实际 {a_text} 在目标 {t_text} ± {tol_text} 范围内，得满分 {w_text}",
                "实际 {a_text} 偏离目标 {t_text} 超过 ± {tol_text}，得 {raw_text}")

    text_case = staticmethod(_full)


@register
class StepDeduction(Method):
    """Stepped deduction: "每低于5%扣2分", "每超过一个百分点扣0.5分，扣完为止"."""

    method: Literal["step-deduction"] = "step-deduction"
    name: ClassVar[str] = "step-deduction"
    label: ClassVar[str] = "每偏离一档扣固定分，扣完为止"
    step: float = Field(gt=0)
    points: float = Field(gt=0)
    basis: Literal["percent-of-target", "absolute"] = "percent-of-target"
    count: Literal["ceil", "floor"] = "ceil"

    def gap(self, t, a, higher):
        diff = np.where(higher, t - a, a - t)
        if self.basis == "percent-of-target":
            diff = np.nan_to_num(_safe_div(diff, np.abs(t)) * 100, nan=0.0)
        return np.clip(diff, 0, None)

    def fraction(self, t, a, w, higher):
        steps = self.gap(t, a, higher) / self.step
        n = np.ceil(steps - 1e-9) if self.count == "ceil" else np.floor(steps + 1e-9)
        return np.clip(_safe_div(w - n * self.points, w), 0, 1)

    def texts(self):
        unit = "%" if self.basis == "percent-of-target" else ""
        return ("实际 {a_text} 达到目标 {t_text}，得满分 {w_text}",
                "实际 {a_text} 偏离目标 {t_text}，每 " + _literal(f"{fmt(self.step)}{unit} 扣 {fmt(self.points)}")
                + " 分，扣完为止：{w_text} − 扣分 = {raw_text}")

    text_case = staticmethod(_full)


class RatioBand(_Strict):
    min_ratio: float = Field(ge=0)
    fraction: float = Field(ge=0, le=1)


@register
class Banded(Method):
    """Completion bands: e.g. ≥100% → full, 80–100% → 80%, 60–80% → 60%, below → 0."""

    method: Literal["banded"] = "banded"
    name: ClassVar[str] = "banded"
    label: ClassVar[str] = "按完成率分档计分"
    bands: tuple[RatioBand, ...] = Field(min_length=1)

    def fraction(self, t, a, w, higher):
        ratio = np.nan_to_num(np.where(higher, _safe_div(a, t), _safe_div(t, a)), nan=0.0)
        ratio = np.where((t <= 0) & higher, np.where(a >= t, 1.0, 0.0), ratio)
        out = np.zeros_like(ratio, dtype=float)
        for band in sorted(self.bands, key=lambda b: b.min_ratio):
            out = np.where(ratio >= band.min_ratio - 1e-12, band.fraction, out)
        return out

    def texts(self):
        return ("实际 {a_text}，目标 {t_text}，按完成率所在档次得 {raw_text}（分值 {w_text}）",)


class ValueBand(_Strict):
    max: float
    points: float = Field(ge=0)


@register
class ValueBands(Method):
    """Points by the actual's value: "=0 计5分；0-10%(含) 计4分；10-20%(含) 计3分；…；大于30%不得分"."""

    method: Literal["value-bands"] = "value-bands"
    name: ClassVar[str] = "value-bands"
    label: ClassVar[str] = "按实际值所在区间计分"
    bands: tuple[ValueBand, ...] = Field(min_length=1)

    def fraction(self, t, a, w, higher):
        points = np.zeros_like(a, dtype=float)
        done = np.zeros_like(a, dtype=bool)
        for band in sorted(self.bands, key=lambda b: b.max):
            hit = ~done & (a <= band.max + 1e-12)
            points = np.where(hit, band.points, points)
            done |= hit
        return np.clip(_safe_div(points, w), 0, 1)

    def texts(self):
        return ("实际 {a_text}，按所在区间得 {raw_text}（分值 {w_text}）",)


@register
class Threshold(Method):
    """All or nothing: met → full, else 0."""

    method: Literal["threshold"] = "threshold"
    name: ClassVar[str] = "threshold"
    label: ClassVar[str] = "达到得满分，未达到不得分"

    def fraction(self, t, a, w, higher):
        return np.where(np.where(higher, a >= t, a <= t), 1.0, 0.0)

    def texts(self):
        return "实际 {a_text} 达到目标 {t_text}，得 {raw_text}", "实际 {a_text} 未达到目标 {t_text}，得 {raw_text}"

    text_case = staticmethod(_full)


@register
class Deadline(Method):
    """时效: done by the deadline → full; late → ``late_fraction`` of the weight, less per month late."""

    method: Literal["deadline"] = "deadline"
    name: ClassVar[str] = "deadline"
    label: ClassVar[str] = "按期完成得满分，逾期按规则扣分"
    late_fraction: float = Field(0.0, ge=0, le=1)
    per_month: float = Field(0.0, ge=0, le=1)

    def fraction(self, t, a, w, higher):
        # t, a: dates as day ordinals; months late rounded up
        late_days = a - t
        months = np.ceil(np.clip(late_days, 0, None) / 30.4375)
        late = np.clip(self.late_fraction - self.per_month * np.maximum(months - 1, 0), 0, 1)
        return np.where(late_days <= 0, 1.0, late)

    def texts(self):
        return "实际完成 {a_text}，未晚于期限 {t_text}，得满分 {w_text}", "实际完成 {a_text}，晚于期限 {t_text}，得 {raw_text}"

    text_case = staticmethod(_full)


class BandSetting(_Strict):
    range: tuple[float, float]
    default: float

    @model_validator(mode="after")
    def _inside(self) -> "BandSetting":
        lo, hi = self.range
        if not (0 <= lo <= hi <= 100) or not (lo <= self.default <= hi):
            raise ValueError(f"档次范围 {self.range} 与默认值 {self.default} 不一致（百分比，0–100）")
        return self


@register
class Qualitative(Method):
    """定性: three bands with a default point each; a judged score inside the band wins."""

    method: Literal["qualitative"] = "qualitative"
    name: ClassVar[str] = "qualitative"
    label: ClassVar[str] = "定性指标按三档评判"
    bands: dict[Band, BandSetting] = Field(
        default_factory=lambda: {
            Band.ACHIEVED: BandSetting(range=(80, 100), default=100),
            Band.PARTIAL: BandSetting(range=(60, 80), default=70),
            Band.NOT_ACHIEVED: BandSetting(range=(0, 60), default=30),
        }
    )
    unknown_phrase: Literal["achieved", "error"] = "achieved"

    @field_validator("bands")
    @classmethod
    def _all_bands(cls, v):
        missing = set(Band) - set(v)
        if missing:
            raise ValueError(f"定性档次缺少：{', '.join(sorted(missing))}")
        return v

    def fraction(self, t, a, w, higher):  # pragma: no cover - scored by band in score.py
        raise NotImplementedError

    def texts(self):
        """A judged score under each band's name (none first), each band's default, and a score without a band."""
        judged = [_literal(f"定性评判“{BAND_LABEL.get(b, '')}”") + "，评判得分 {raw_text}（分值 {w_text}）" for b in (None, *Band)]
        default = ["实际“{a_text}”→ " + _literal(f"{BAND_LABEL.get(b, '')}（{fmt(s.range[0])}–{fmt(s.range[1])}%），按默认 "
                                                  f"{fmt(s.default)}% × ") + "分值 {w_text} = {raw_text}"
                   for b, s in ((b, self.bands[b]) for b in Band)]
        return (*judged, *default, "得 {raw_text}")

    def text_case(self, r):
        band = np.asarray(r["band"], dtype=object)
        which = np.full(band.shape, -1)
        for i, b in enumerate(Band):
            which = np.where(band == b, i, which)
        n = len(Band)
        return np.where(np.asarray(r["judged"], dtype=bool), which + 1, np.where(which >= 0, n + 1 + which, 2 * n + 1))


def method_from_dict(spec: Any, where: str) -> Method:
    """Validate one ``{method: name, …params}`` mapping against the registry."""
    if not isinstance(spec, dict) or "method" not in spec:
        raise RuleSetError("评分方法必须写成 {method: 名称, …参数}", where=where)
    name = spec["method"]
    if name not in METHODS:
        close = difflib.get_close_matches(str(name), METHODS, n=1)
        hint = f"是否应为“{close[0]}”？" if close else f"可用方法：{', '.join(sorted(METHODS))}"
        raise RuleSetError(f"未知的评分方法“{name}”", where=where, hint=hint)
    try:
        return METHODS[name].model_validate(spec)
    except ValidationError as e:
        raise RuleSetError(describe_validation(e, METHODS[name]), where=where) from e


# --------------------------------------------------------------------------- rule set
class Source(_Strict):
    title: str
    url: str | None = None
    tag: Literal["C", "S", "U"] = "U"
    note: str | None = None


class Group(_Strict):
    key: str
    label: str
    weight: float = Field(ge=0, le=100)
    match_level1: tuple[str, ...] = ()
    match_level2: tuple[str, ...] = ()


class Weights(_Strict):
    groups: tuple[Group, ...]
    execution: float = Field(10, ge=0, le=100)
    split: Literal["even", "by-level2"] = "even"
    tolerance: float = Field(0.01, ge=0)

    @model_validator(mode="after")
    def _sum_100(self) -> "Weights":
        total = sum(g.weight for g in self.groups) + self.execution
        if abs(total - 100) > 1e-6:
            raise ValueError(f"一级指标权重与预算执行率权重之和应为 100，现为 {fmt(total)}")
        return self


def _words(v: tuple[str, ...], what: str) -> tuple[str, ...]:
    if any(not w.strip() for w in v):
        raise ValueError(f"{what}中有空的词")
    return tuple(w.strip() for w in v)


class DirectionRules(_Strict):
    """Which indicators are lower-is-better (反向) when the target has no operator: those under a 二级指标 in
    ``lower_level2`` (成本) and those whose 三级指标 name contains a word of ``lower_names`` — unless it also contains
    a word of ``higher_names`` (投诉办结率, 血压控制率: the same word, higher is better). An operator always wins."""

    lower_level2: tuple[str, ...] = ("成本",)
    lower_names: tuple[str, ...] = ("控制率", "调整率", "结余率", "结转率", "投诉率", "差错率", "事故率", "发生率",
                                    "超支率", "变动率", "失误率", "不合格率")
    higher_names: tuple[str, ...] = ()

    @field_validator("lower_level2", "lower_names", "higher_names")
    @classmethod
    def _no_blank(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _words(v, "方向词表")

    @model_validator(mode="after")
    def _no_word_both_ways(self) -> "DirectionRules":
        both = sorted(set(self.lower_names) & set(self.higher_names))
        if both:
            raise ValueError(f"“{'、'.join(both)}”同时列在 lower_names 和 higher_names 中")
        return self


# The words a unit may write as the actual of a quantitative target instead of a number (scored by the qualitative
# band they name, with a warning): domain.md §3–§4. Any other text there is an error, never full marks.
WORD_ACTUALS = ("达成年度指标", "达成", "已达成", "达成预期指标", "达成预期目标", "完成", "已完成", "全部完成", "全面完成",
                "圆满完成", "按计划完成", "达到", "已达到", "达到预期", "达标", "已达标", "实现", "已实现",
                "部分达成年度指标并具有一定效果", "部分达成", "部分完成", "基本完成", "基本达成", "基本达到",
                "未达成年度指标且效果较差", "未达成", "未完成", "未达到", "未达标")


class Scoring(_Strict):
    higher: Method
    lower: Method
    equal: Method
    band: TwoSided = TwoSided()
    deadline: Deadline = Deadline()
    qualitative: Qualitative = Qualitative()

    @model_validator(mode="before")
    @classmethod
    def _methods(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("higher", "lower", "equal"):
                if isinstance(data.get(key), dict):
                    data[key] = method_from_dict(data[key], where=f"scoring.{key}")
        return data


class OverAchievement(_Strict):
    enabled: bool = False
    threshold: float = Field(1.3, gt=1)
    deduction: float = Field(2, ge=0)


class TotalCap(_Strict):
    below: float = Field(gt=0, le=1)
    cap: float = Field(ge=0, le=100)


class ExecutionRules(_Strict):
    method: Literal["proportional", "stepped"] = "proportional"
    cap_rate: float = Field(1.0, gt=0)
    step: float = Field(5, gt=0)
    points: float = Field(2, ge=0)
    reason_below: float | None = Field(None, gt=0, le=1)
    total_caps: tuple[TotalCap, ...] = ()


class Rounding(_Strict):
    decimals: int = Field(2, ge=0, le=6)
    mode: Literal["half-up", "half-even", "floor", "ceil"] = "half-up"

    def apply(self, x: np.ndarray | float) -> np.ndarray | float:
        f = 10.0 ** self.decimals
        y = np.asarray(x, dtype=float) * f
        if self.mode == "half-up":
            y = np.floor(y + 0.5 + 1e-9)
        elif self.mode == "half-even":
            y = np.round(y)
        elif self.mode == "floor":
            y = np.floor(y + 1e-9)
        else:
            y = np.ceil(y - 1e-9)
        out = y / f
        return float(out) if np.ndim(out) == 0 else out


class Grade(_Strict):
    min: float = Field(ge=0, le=100)
    grade: str


class RuleSet(_Strict):
    """A versioned scoring rule set (rules/*.yaml)."""

    id: str
    version: str
    title: str
    description: str = ""
    extends: str | None = None
    sources: tuple[Source, ...] = Field(min_length=1)
    weights: Weights
    direction: DirectionRules = DirectionRules()
    word_actuals: tuple[str, ...] = WORD_ACTUALS
    scoring: Scoring
    not_applicable: Literal["rescale", "full"] = "rescale"
    missing_actual: Literal["error", "zero"] = "error"
    cost_from_spent: bool = True
    over_achievement: OverAchievement = OverAchievement()
    execution: ExecutionRules = ExecutionRules()
    rounding: Rounding = Rounding()
    grades: tuple[Grade, ...] = Field(min_length=1)
    claimed_tolerance: float = Field(0.01, ge=0)

    @field_validator("word_actuals")
    @classmethod
    def _word_list(cls, v):
        return _words(v, "word_actuals ")

    @property
    def word_actual_keys(self) -> frozenset[str]:
        """``word_actuals`` as compared: normalised, without end punctuation."""
        from .parse import normalise_text

        return frozenset(normalise_text(w).rstrip("。.！!") for w in self.word_actuals)

    @field_validator("grades")
    @classmethod
    def _descending(cls, v):
        return tuple(sorted(v, key=lambda g: -g.min))

    def grade_for(self, total: float | None) -> str | None:
        if total is None:
            return None
        for g in self.grades:
            if total >= g.min - 1e-9:
                return g.grade
        return self.grades[-1].grade

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"


# --------------------------------------------------------------------------- loading
def rules_dir() -> Path:
    """Where bundled rule sets live: $EVALUATOR_RULES_DIR, else the repository's rules/ folder."""
    env = os.environ.get("EVALUATOR_RULES_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for cand in (here.parent / "rules", here / "rules"):
        if cand.is_dir():
            return cand
    return here.parent / "rules"


def list_rule_sets() -> list[RuleSet]:
    return [load_rules(p) for p in sorted(rules_dir().glob("*.yaml"))]


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path) -> dict:
    from .load import parse_data  # YAML read as data: no 1.1 guesses, no aliases, no duplicate keys

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RuleSetError(f"无法读取规则文件：{e.strerror}", where=str(path)) from e
    except UnicodeDecodeError as e:
        raise RuleSetError("规则文件不是 UTF-8 编码的文本", where=str(path), hint="请另存为 UTF-8") from e
    data = parse_data(text, str(path), error=RuleSetError)
    if not isinstance(data, dict):
        raise RuleSetError("规则文件应为键值映射", where=str(path))
    return data


def _resolve_extends(path: Path, seen: tuple[str, ...]) -> dict:
    data = _read_yaml(path)
    parent = data.get("extends")
    if not parent:
        return data
    if parent in seen:
        raise RuleSetError(f"规则集继承出现循环：{' → '.join((*seen, parent))}", where=str(path))
    parent_path = rules_dir() / f"{parent}.yaml"
    if not parent_path.exists():
        raise RuleSetError(f"继承的规则集“{parent}”不存在", where=str(path))
    merged = _deep_merge(_resolve_extends(parent_path, (*seen, parent)), data)
    merged["sources"] = data.get("sources") or merged.get("sources")
    return merged


def load_rules(ref: str | Path = "mof-2020") -> RuleSet:
    """Load a rule set by id (a file in rules/) or by path; ``extends`` merges onto a parent rule set."""
    path = Path(ref)
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        path = rules_dir() / f"{ref}.yaml"
        if not path.exists():
            known = sorted(p.stem for p in rules_dir().glob("*.yaml"))
            close = difflib.get_close_matches(str(ref), known, n=1)
            hint = f"是否应为“{close[0]}”？" if close else f"可用规则集：{', '.join(known)}"
            raise RuleSetError(f"找不到规则集“{ref}”", hint=hint)
    data = _resolve_extends(path, seen=())
    try:
        return RuleSet.model_validate(data)
    except RuleSetError as e:
        raise RuleSetError(e.message, where=f"{path}：{e.where}" if e.where else str(path), hint=e.hint) from e
    except ValidationError as e:
        raise RuleSetError(describe_validation(e, RuleSet), where=str(path)) from e


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        current = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def describe_validation(e: ValidationError, model: type[BaseModel]) -> str:
    """A pydantic error on a rule file as one Chinese message per problem, with the key and a "是否应为 …？" suggestion for a misspelled one (rule sets and the rules/checks files)."""
    msgs = []
    for err in e.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            known = _known_keys(model, loc)
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"，是否应为“{close[0]}”？" if close else (f"，可用的键：{', '.join(known)}" if known else "")
            msgs.append(f"未知的键“{where}”{hint}")
        elif err["type"] == "missing":
            msgs.append(f"缺少必填项“{where}”")
        else:
            msgs.append(f"“{where}”取值无效：{err['msg']}")
    return "；".join(msgs)
