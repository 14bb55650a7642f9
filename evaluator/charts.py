"""matplotlib figures for the 自评报告, drawn with an embedded Chinese font so no glyph turns into a box.

matplotlib is imported lazily (it is the slowest import of the package) and always through the Agg backend,
inside an rcParams context; every figure is closed. SVG ids and PNG metadata are pinned so the same data
gives the same bytes.
"""
from __future__ import annotations

import hashlib
import io
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from .errors import EvaluatorError

__all__ = ["font_path", "font_family", "chart_groups", "chart_completion", "chart_execution", "font_covers", "pdf_font",
           "pdf_font_ready", "web_font"]

COLORS = {"weight": "#d9d9d9", "score": "#2f5597", "ok": "#2f5597", "short": "#c55a11", "line": "#7f7f7f",
          "budget": "#a9c4eb", "spent": "#2f5597"}


def font_path(kind: str = "sans") -> Path:
    """The font used for charts and PDF: $EVALUATOR_FONT (or $EVALUATOR_SERIF_FONT), else the bundled Noto SC."""
    env = os.environ.get("EVALUATOR_SERIF_FONT" if kind == "serif" else "EVALUATOR_FONT")
    if env:
        p = Path(env)
        if not p.is_file():
            raise EvaluatorError(f"字体文件不存在：{p}", hint="请检查环境变量 EVALUATOR_FONT / EVALUATOR_SERIF_FONT")
        return p
    try:
        import pylopdf_fonts_zh_cn as fonts
    except ImportError as e:  # pragma: no cover - a dependency of the package
        raise EvaluatorError("缺少中文字体包 pylopdf-fonts-zh-cn", hint="请重新安装：pip install -e .") from e
    return Path(fonts.serif_path() if kind == "serif" else fonts.sans_path())


@lru_cache(maxsize=4)
def _cmap(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as f:
        return frozenset(f.getBestCmap())


def missing_glyphs(path: Path, text: str) -> set[str]:
    """The characters of ``text`` the font file at ``path`` has no glyph for (whitespace aside)."""
    cmap = _cmap(str(path))
    return {c for c in text if not c.isspace() and ord(c) not in cmap}


def font_covers(text: str, kind: str = "sans") -> set[str]:
    """The characters of ``text`` the font has no glyph for (whitespace aside)."""
    cmap = _cmap(str(font_path(kind)))
    return {c for c in text if not c.isspace() and ord(c) not in cmap}


def _common_chars() -> set[str]:
    """ASCII, GB2312 (6,763 汉字 and its symbols) and the punctuation reports use."""
    chars = set(map(chr, range(32, 127))) | set("≥≤±÷×—–…·•“”‘’【】《》〔〕（）、，。：；！？％‰①②③④⑤⑥⑦⑧⑨⑩℃　")
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def cache_dir() -> Path:
    """Where derived files (the PDF font) are kept: $EVALUATOR_CACHE_DIR, else ~/.cache/evaluator."""
    env = os.environ.get("EVALUATOR_CACHE_DIR")
    return Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "evaluator"


def _pdf_font_path() -> Path:
    base = font_path("serif")
    key = hashlib.sha1(f"{base.name}:{base.stat().st_size}:v1".encode()).hexdigest()[:12]
    return cache_dir() / f"pdf-{base.stem}-{key}.ttf"


def pdf_font_ready() -> bool:
    """Is the PDF font cache already built (building it takes ~20 s, once per machine)?"""
    return _pdf_font_path().is_file()


def pdf_font(extra: str = "") -> Path:
    """A TrueType-outline subset of the serif font for PDF embedding, built once and cached.

    The bundled font is CFF (.otf); subsetting CFF for every PDF costs ~0.5 s, a TrueType subset ~0.05 s.
    The cached font covers GB2312 plus every character ``extra`` needs; a report with a rarer character
    rebuilds it with that character added. Saved without timestamps, so the same font gives the same bytes.
    """
    from fontTools.ttLib import TTFont

    base = font_path("serif")
    path = _pdf_font_path()
    need = {c for c in extra if not c.isspace()}
    have: set[str] = set()
    if path.is_file():
        have = {chr(c) for c in _cmap(str(path))}
        if need <= have:
            return path
    available = {chr(c) for c in _cmap(str(base))}
    chars = (_common_chars() | have | need) & available
    font = _subset_to_truetype(TTFont(str(base)), chars)
    buf = io.BytesIO()
    font.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    from .output import write_atomic

    write_atomic(path, buf.getvalue())
    _cmap.cache_clear()
    return path


def _subset_to_truetype(font, chars: set[str]):
    """Subset a CFF font to ``chars`` and redraw its outlines as TrueType quadratic curves."""
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    opts = subset.Options()
    opts.notdef_outline = opts.recommended_glyphs = opts.desubroutinize = True
    opts.layout_features = []
    opts.drop_tables += ["GSUB", "GPOS", "GDEF", "VORG"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=sorted(ord(c) for c in chars))
    sub.subset(font)
    if "CFF " not in font:
        return font
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements", "maxComponentDepth",
                 "maxPoints", "maxContours", "maxCompositePoints", "maxCompositeContours"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    post = font["post"]
    post.formatType, post.extraNames, post.mapping, post.glyphOrder = 2.0, [], {}, order
    del font["CFF "]
    font.sfntVersion = "\x00\x01\x00\x00"
    font.recalcTimestamp = False
    return font


def _glyph_subset(text: str, flavor: str | None):
    """The cached TrueType font cut down to ``text`` (plus ASCII), keeping each glyph's stored data."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(pdf_font(text)))
    opts = subset.Options()
    opts.flavor = flavor
    opts.layout_features = []
    opts.notdef_outline = True
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=sorted({ord(c) for c in text if not c.isspace()} | set(range(32, 127))))
    sub.subset(font)
    font.recalcTimestamp = font.recalcBBoxes = False  # keep the stored glyph data as it is (fast, reproducible)
    font.flavor = flavor
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def _cached_subset(text: str, flavor: str | None, suffix: str) -> Path:
    """A glyph subset for ``text``, kept in the cache directory under the hash of its characters."""
    chars = "".join(sorted({c for c in text if not c.isspace()}))
    base = _pdf_font_path().stem
    key = hashlib.sha1(f"{base}:{flavor}:{chars}".encode("utf-8")).hexdigest()[:16]
    path = cache_dir() / "subsets" / f"{key}.{suffix}"
    if not path.is_file():
        from .output import write_atomic

        write_atomic(path, _glyph_subset(chars, flavor))
    return path


def run_font(text: str) -> Path:
    """A small TrueType font with the glyphs of one report run, for the PDFs (cached by its characters)."""
    return _cached_subset(text, None, "ttf")


def web_font(text: str) -> str:
    """A small WOFF font (base64) with just the glyphs ``text`` needs, so an HTML file shows Chinese on any
    machine, even one without a CJK font. Cut from the cached TrueType PDF font: fast and reproducible."""
    import base64

    return base64.b64encode(_cached_subset(text, "woff", "woff").read_bytes()).decode("ascii")


@lru_cache(maxsize=2)
def font_family(kind: str = "sans") -> str:
    from matplotlib import font_manager

    path = str(font_path(kind))
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


@contextmanager
def _style() -> Iterator[object]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = font_family("sans")
    rc = {
        "font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"], "axes.unicode_minus": False,
        "svg.hashsalt": "evaluator", "svg.fonttype": "path", "font.size": 9, "axes.spines.top": False,
        "axes.spines.right": False, "figure.dpi": 100,
    }
    with matplotlib.rc_context(rc):
        yield plt


def _save(fig, plt, fmt: str) -> bytes:
    buf = io.BytesIO()
    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    try:
        fig.savefig(buf, format=fmt, dpi=110, metadata=meta, pil_kwargs={"compress_level": 3} if fmt == "png" else None)
    finally:
        plt.close(fig)
    return buf.getvalue()


def chart_groups(groups: list[tuple[str, float, float]], fmt: str = "png") -> bytes:
    """Score against weight per 一级指标 (and 预算执行率): (label, weight, score) rows."""
    with _style() as plt:
        fig, ax = plt.subplots(figsize=(6.4, 2.6))
        fig.subplots_adjust(left=0.18, right=0.97, top=0.86, bottom=0.2)
        labels = [g[0] for g in groups]
        y = range(len(groups))
        ax.barh(y, [g[1] for g in groups], color=COLORS["weight"], label="分值", height=0.6)
        ax.barh(y, [g[2] for g in groups], color=COLORS["score"], label="得分", height=0.35)
        for i, (_, w, s) in enumerate(groups):
            ax.text(w, i, f" {s:g} / {w:g}", va="center", fontsize=8)
        _row_labels(ax, labels, 9)
        ax.set_ylim(len(groups) - 0.5, -0.5)
        top = max(g[1] for g in groups) * 1.25
        ax.set_xlim(0, top)
        ax.set_xticks([x for x in (0, 10, 20, 30, 40, 50, 60) if x <= top])
        ax.set_xlabel("分")
        ax.set_title("各一级指标得分与分值")
        ax.legend(loc="upper right", fontsize=8, frameon=False, ncol=2, bbox_to_anchor=(1, 1.16))
        return _save(fig, plt, fmt)


def chart_completion(rows: list[tuple[str, float]], fmt: str = "png") -> bytes:
    """Completion ratio per indicator (%), with the target line at 100%."""
    with _style() as plt:
        height = max(2.2, 0.28 * len(rows) + 0.9)
        fig, ax = plt.subplots(figsize=(6.4, height))
        fig.subplots_adjust(left=0.34, right=0.97, top=1 - 0.45 / height, bottom=0.55 / height)
        values = [min(v, 150.0) for _, v in rows]
        colors = [COLORS["ok"] if v >= 100 - 1e-9 else COLORS["short"] for v in values]
        y = range(len(rows))
        ax.barh(y, values, color=colors, height=0.6)
        for i, (_, v) in enumerate(rows):
            ax.text(min(v, 150.0), i, f" {v:.1f}%", va="center", fontsize=7)
        ax.axvline(100, color=COLORS["line"], linestyle="--", linewidth=1)
        _row_labels(ax, [_short(name) for name, _ in rows], 7)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(0, 170)
        ax.set_xticks([0, 50, 100, 150])
        ax.set_xlabel("完成率（%，目标线 100%）")
        ax.set_title("各指标完成率")
        return _save(fig, plt, fmt)


def chart_execution(budget: float, spent: float, rate: float, fmt: str = "png") -> bytes:
    """全年预算数 against 全年执行数, with the 执行率."""
    with _style() as plt:
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
        return _save(fig, plt, fmt)


def _row_labels(ax, labels: list[str], size: float) -> None:
    """Category names left of the bars, drawn as plain texts: tick objects cost far more to lay out."""
    ax.set_yticks([])
    transform = ax.get_yaxis_transform()
    for i, label in enumerate(labels):
        ax.text(-0.01, i, label, transform=transform, ha="right", va="center", fontsize=size)


def _short(name: str, limit: int = 16) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
