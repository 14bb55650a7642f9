"""Fonts: the free Chinese fonts that install with the project, their PDF-ready TrueType subsets, web fonts.

Three faces set the 公文 styles: the serif (宋体 style) for body text, the sans (黑体 style) for headings, and a
heavy serif (小标宋 style) for titles. They come from the pinned ``pylopdf-fonts-zh-cn`` package (Noto Serif SC and
Noto Sans SC, OFL); each is a setting, so a system font (方正小标宋, 仿宋…) can be used instead:
$EVALUATOR_SERIF_FONT, $EVALUATOR_FONT (sans), $EVALUATOR_TITLE_FONT. Without a title font the title is the serif
drawn heavier (a stroked outline), as word processors embolden a face that has no bold.
"""
from __future__ import annotations

import hashlib
import io
import os
from functools import lru_cache
from pathlib import Path

from .errors import EvaluatorError

__all__ = ["font_path", "chart_font", "missing_glyphs", "font_covers", "pdf_font", "pdf_font_ready", "run_font",
           "web_font", "cache_dir"]

FONT_SETTINGS = {"serif": "EVALUATOR_SERIF_FONT", "sans": "EVALUATOR_FONT", "title": "EVALUATOR_TITLE_FONT"}


def font_path(kind: str = "sans") -> Path:
    """The font file of a face ("serif", "sans" or "title"): its setting, else the bundled Noto SC (the title
    falls back to the serif)."""
    env = os.environ.get(FONT_SETTINGS[kind])
    if env:
        p = Path(env)
        if not p.is_file():
            raise EvaluatorError(f"字体文件不存在：{p}", hint=f"请检查环境变量 {FONT_SETTINGS[kind]}")
        return p
    if kind == "title":
        return font_path("serif")
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


def title_is_heavy() -> bool:
    """Is there a real title face (a setting), or is the title the serif drawn heavier?"""
    return bool(os.environ.get(FONT_SETTINGS["title"]))


def _pdf_font_path(kind: str = "serif") -> Path:
    base = font_path(kind)
    key = hashlib.sha1(f"{base.name}:{base.stat().st_size}:v1".encode()).hexdigest()[:12]
    return cache_dir() / f"pdf-{base.stem}-{key}.ttf"


def pdf_font_ready(kinds: tuple[str, ...] = ("serif", "sans", "title")) -> bool:
    """Are the PDF font caches already built (building one takes ~20 s, once per machine)?"""
    return all(_pdf_font_path(k).is_file() for k in kinds)


def pdf_font(extra: str = "", kind: str = "serif") -> Path:
    """A TrueType-outline subset of the serif font for PDF embedding, built once and cached.

    The bundled font is CFF (.otf); subsetting CFF for every PDF costs ~0.5 s, a TrueType subset ~0.05 s.
    The cached font covers GB2312 plus every character ``extra`` needs; a report with a rarer character
    rebuilds it with that character added. Saved without timestamps, so the same font gives the same bytes.
    """
    from fontTools.ttLib import TTFont

    base = font_path(kind)
    path = _pdf_font_path(kind)
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


def _glyph_subset(text: str, flavor: str | None, kind: str = "serif", family: str | None = None):
    """The cached TrueType font cut down to ``text`` (plus ASCII), keeping each glyph's stored data."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(pdf_font(text, kind)))
    opts = subset.Options()
    opts.flavor = flavor
    opts.layout_features = []
    opts.notdef_outline = True
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=sorted({ord(c) for c in text if not c.isspace()} | set(range(32, 127))))
    sub.subset(font)
    if family:  # a family name of its own, so it never stands in for the whole face
        for rec in font["name"].names:
            if rec.nameID in (1, 4, 6, 16):
                rec.string = family
    font.recalcTimestamp = font.recalcBBoxes = False  # keep the stored glyph data as it is (fast, reproducible)
    font.flavor = flavor
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def _cached_subset(text: str, flavor: str | None, suffix: str, kind: str = "serif", named: bool = False) -> Path:
    """A glyph subset for ``text``, kept in the cache directory under the hash of its characters (``named``: with
    a family name of its own)."""
    chars = "".join(sorted(c for c in set(text) if not c.isspace()))  # set() first: a page can be megabytes
    base = _pdf_font_path(kind).stem
    key = hashlib.sha1(f"{base}:{flavor}:{named}:{chars}".encode("utf-8")).hexdigest()[:16]
    path = cache_dir() / "subsets" / f"{key}.{suffix}"
    if not path.is_file():
        from .output import write_atomic

        write_atomic(path, _glyph_subset(chars, flavor, kind, f"Evaluator Chart {key}" if named else None))
    return path


def chart_font(text: str) -> Path:
    """A small sans face with the characters of one run, for the charts: matplotlib loads it in milliseconds where
    the whole face takes a second. Its family name is its own, so it never stands in for the whole face."""
    return _cached_subset(text, None, "ttf", "sans", named=True)


def run_font(text: str, kind: str = "serif") -> Path:
    """A small TrueType font with the glyphs of one report run, for the PDFs (cached by its characters)."""
    return _cached_subset(text, None, "ttf", kind)


def web_font(text: str, kind: str = "serif") -> str:
    """A small WOFF font (base64) with just the glyphs ``text`` needs, so an HTML file shows Chinese on any
    machine, even one without a CJK font. Cut from the cached TrueType PDF font: fast and reproducible."""
    import base64

    return base64.b64encode(_cached_subset(text, "woff", "woff", kind).read_bytes()).decode("ascii")


