"""matplotlib figures for the 自评报告, drawn with an embedded Chinese font so no glyph turns into a box.

matplotlib is imported lazily (it is the slowest import of the package) and always through the Agg backend,
inside an rcParams context; every figure is closed. SVG ids and PNG metadata are pinned so the same data
gives the same bytes.
"""
from __future__ import annotations

import io
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator


from .fonts import font_covers, font_path, missing_glyphs, pdf_font, pdf_font_ready, run_font, web_font  # noqa: F401

__all__ = ["font_family", "chart_groups", "chart_completion", "chart_execution", "chart_style", "save_figure", "short_label", "row_labels"]

COLORS = {"weight": "#d9d9d9", "score": "#2f5597", "ok": "#2f5597", "short": "#c55a11", "line": "#7f7f7f",
          "budget": "#a9c4eb", "spent": "#2f5597"}


_RUN_FONT: dict[str, Path] = {}  # a small subset with every character of the run: registered in a blink


def use_font(path: Path | None, kind: str = "sans") -> None:
    """Draw the charts of this run with ``path`` (a subset of the face holding the run's characters) instead of
    the whole 8 MB face, which matplotlib takes a second to load."""
    if path is None:
        _RUN_FONT.pop(kind, None)
    else:
        _RUN_FONT[kind] = path


def font_family(kind: str = "sans") -> str:
    return _font_family(str(_RUN_FONT.get(kind) or font_path(kind)))


@lru_cache(maxsize=8)
def _font_family(path: str) -> str:
    from matplotlib import font_manager

    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


@contextmanager
def chart_style() -> Iterator[object]:
    """pyplot inside the house style (Agg, the bundled CJK font, fixed sizes and colours), closed after: for every chart module (the 自评报告, the bureau, trend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = font_family("sans")
    rc = {
        "font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"], "axes.unicode_minus": False,
        "svg.hashsalt": "evaluator", "svg.fonttype": "path", "font.size": 9, "axes.spines.top": False,
        "axes.spines.right": False, "figure.dpi": 100,
        "text.parse_math": False,  # labels are names from the inputs: a "$" is a dollar sign, never mathtext
    }
    with matplotlib.rc_context(rc):
        yield plt


def save_figure(fig, plt, fmt: str) -> bytes:
    """A figure as PNG/SVG bytes without the date or software stamps, so the same chart gives the same bytes; the figure is closed."""
    buf = io.BytesIO()
    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    try:
        fig.savefig(buf, format=fmt, dpi=110, metadata=meta, pil_kwargs={"compress_level": 3} if fmt == "png" else None)
    finally:
        plt.close(fig)
    return buf.getvalue()


def chart_groups(groups: list[tuple[str, float, float]], fmt: str = "png") -> bytes:
    """Score against weight per 一级指标 (and 预算执行率): (label, weight, score) rows."""
    with chart_style() as plt:
        fig, ax = plt.subplots(figsize=(6.4, 2.6))
        fig.subplots_adjust(left=0.18, right=0.97, top=0.86, bottom=0.2)
        labels = [g[0] for g in groups]
        y = range(len(groups))
        ax.barh(y, [g[1] for g in groups], color=COLORS["weight"], label="分值", height=0.6)
        ax.barh(y, [g[2] for g in groups], color=COLORS["score"], label="得分", height=0.35)
        for i, (_, w, s) in enumerate(groups):
            ax.text(w, i, f" {s:g} / {w:g}", va="center", fontsize=8)
        row_labels(ax, labels, 9)
        ax.set_ylim(len(groups) - 0.5, -0.5)
        top = max(g[1] for g in groups) * 1.25
        ax.set_xlim(0, top)
        ax.set_xticks([x for x in (0, 10, 20, 30, 40, 50, 60) if x <= top])
        ax.set_xlabel("分")
        ax.set_title("各一级指标得分与分值")
        ax.legend(loc="upper right", fontsize=8, frameon=False, ncol=2, bbox_to_anchor=(1, 1.16))
        return save_figure(fig, plt, fmt)


MAX_BARS = 30  # a chart lists at most this many indicators (the least completed): its height stays bounded


def chart_completion(rows: list[tuple[str, float]], fmt: str = "png") -> bytes:
    """Completion ratio per indicator (%), with the target line at 100%; of a long table, the least completed."""
    title = "各指标完成率"
    if len(rows) > MAX_BARS:
        keep = sorted(sorted(range(len(rows)), key=lambda k: rows[k][1])[:MAX_BARS])
        title = f"完成率最低的 {MAX_BARS} 项指标（共 {len(rows)} 项）"
        rows = [rows[k] for k in keep]
    with chart_style() as plt:
        height = max(2.2, 0.2 * len(rows) + 0.9)
        fig, ax = plt.subplots(figsize=(6.4, height))
        fig.subplots_adjust(left=0.34, right=0.97, top=1 - 0.45 / height, bottom=0.55 / height)
        values = [min(v, 150.0) for _, v in rows]
        colors = [COLORS["ok"] if v >= 100 - 1e-9 else COLORS["short"] for v in values]
        y = range(len(rows))
        ax.barh(y, values, color=colors, height=0.6)
        for i, (_, v) in enumerate(rows):
            ax.text(min(v, 150.0), i, f" {v:.1f}%", va="center", fontsize=7)
        ax.axvline(100, color=COLORS["line"], linestyle="--", linewidth=1)
        row_labels(ax, [short_label(name) for name, _ in rows], 7)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(0, 170)
        ax.set_xticks([0, 50, 100, 150])
        ax.set_xlabel("完成率（%，目标线 100%）")
        ax.set_title(title)
        return save_figure(fig, plt, fmt)


def chart_execution(budget: float, spent: float, rate: float, fmt: str = "png") -> bytes:
    """全年预算数 against 全年执行数, with the 执行率."""
    with chart_style() as plt:
        fig, ax = plt.subplots(figsize=(6.4, 1.8))
        fig.subplots_adjust(left=0.05, right=0.97, top=0.82, bottom=0.3)
        ax.barh([0], [budget], color=COLORS["budget"], height=0.5, label="全年预算数")
        ax.barh([0], [spent], color=COLORS["spent"], height=0.28, label="全年执行数")
        ax.text(max(budget, spent), 0, f"  执行率 {rate * 100:.2f}%", va="center", fontsize=9)
        ax.set_yticks([])
        ax.set_xlim(0, max(budget, spent) * 1.35 or 1)
        ax.set_xlabel("万元")
        ax.set_title("预算执行情况")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        return save_figure(fig, plt, fmt)


def row_labels(ax, labels: list[str], size: float) -> None:
    """Category names left of the bars, drawn as plain texts: tick objects cost far more to lay out."""
    ax.set_yticks([])
    transform = ax.get_yaxis_transform()
    for i, label in enumerate(labels):
        ax.text(-0.01, i, label, transform=transform, ha="right", va="center", fontsize=size)


def short_label(name: str, limit: int = 16) -> str:
    """An axis label cut to ``limit`` characters with an ellipsis (long 三级指标 and unit names)."""
    return name if len(name) <= limit else name[: limit - 1] + "…"
