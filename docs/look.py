"""Render every document of the demo to PNG pages so anyone can look at them (`make look`).

PDF pages through pdftoppm; docx and xlsx through LibreOffice headless (then pdftoppm), with a private fontconfig
that maps the fonts the documents name (宋体, 仿宋, 黑体, 楷体, 方正小标宋简体 — what Chinese Windows has) to the free
fonts installed with evaluator; HTML through headless Chromium. Also the bureau's workbook and dashboard, on a small
synthetic province. Needs poppler-utils, and LibreOffice / Chromium for those formats (skipped when missing).

    python docs/look.py [-o reports/look] [--readme]    # --readme also refreshes the small pictures in docs/
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVALUATOR = [sys.executable, "-m", "evaluator"]
DEMO = ["data/targets/shifeng-cppcc-2023.yaml", "data/actuals/shifeng-cppcc-2023.yaml"]
CASE = ["data/targets/yongde-nutrition-2022.yaml", "data/actuals/yongde-nutrition-2022.yaml"]


def fontconfig(folder: Path) -> Path:
    """A fontconfig file: the system's, plus the bundled fonts, with the Windows font names aliased to them."""
    sys.path.insert(0, str(ROOT))
    from evaluator.fonts import font_path

    serif, sans = font_path("serif"), font_path("sans")
    bold = [p for p in ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",) if Path(p).is_file()]
    alias = lambda names, family: "".join(  # noqa: E731
        f"<alias binding=\"same\"><family>{n}</family><prefer><family>{family}</family></prefer></alias>" for n in names)
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{serif.parent}</dir><dir>{sans.parent}</dir>"
        + alias(("宋体", "SimSun", "仿宋", "FangSong", "仿宋_GB2312", "楷体", "KaiTi"), "Noto Serif SC")
        + alias(("黑体", "SimHei"), "Noto Sans SC")
        + "".join(f'<match target="pattern"><test name="family"><string>{n}</string></test>'
                  f'<edit name="family" mode="assign" binding="strong"><string>{"Noto Serif CJK SC" if bold else "Noto Serif SC"}'
                  '</string></edit><edit name="weight" mode="assign" binding="strong"><const>bold</const></edit></match>'
                  for n in ("方正小标宋简体", "方正小标宋_GBK"))
        + "</fontconfig>", encoding="utf-8")
    return conf


def to_png(pdf: Path, out: Path, stem: str, dpi: int = 70) -> list[Path]:
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out / stem)], check=True)
    return sorted(out.glob(f"{stem}*.png"))


def office_to_pdf(path: Path, work: Path, conf: Path) -> Path | None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        return None
    env = {"FONTCONFIG_FILE": str(conf), "HOME": str(work), "PATH": "/usr/bin:/bin"}
    subprocess.run([soffice, f"-env:UserInstallation=file://{work}/profile", "--headless", "--convert-to", "pdf",
                    "--outdir", str(work), str(path)], check=True, capture_output=True, env=env, timeout=300)
    return work / (path.stem + ".pdf")


def html_to_png(path: Path, png: Path, conf: Path, height: int = 2400) -> bool:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        return False
    env = {"FONTCONFIG_FILE": str(conf), "HOME": str(png.parent), "PATH": "/usr/bin:/bin"}
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={png}", f"--window-size=1100,{height}", path.as_uri()], check=True,
                   capture_output=True, env=env, timeout=120)
    return True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default="reports/look")
    ap.add_argument("--readme", action="store_true", help="refresh the pictures in docs/ (one page each, small)")
    args = ap.parse_args()
    out = (ROOT / args.output).resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        conf = fontconfig(work)
        docs = work / "docs"
        for name, inputs in (("demo", DEMO), ("case", CASE)):
            if all((ROOT / p).is_file() for p in inputs):
                subprocess.run([*EVALUATOR, "report", *inputs, "-o", str(docs / name)], check=True, cwd=ROOT,
                               capture_output=True)
        province = work / "province"
        subprocess.run([*EVALUATOR, "synth", "-n", "30", "--years", "2", "-o", str(province)], check=True, cwd=ROOT,
                       capture_output=True)
        db = f"sqlite:///{work}/look.db"
        subprocess.run([*EVALUATOR, "batch", str(province), "--db", db], cwd=ROOT, capture_output=True)
        subprocess.run([*EVALUATOR, "compare", "--db", db, "-o", str(docs / "bureau")], check=True, cwd=ROOT,
                       capture_output=True)
        subprocess.run([*EVALUATOR, "review", "sample", "--db", db, "-o", str(docs / "bureau" / "复核表.xlsx")],
                       check=True, cwd=ROOT, capture_output=True)
        made = []
        for k, path in enumerate(sorted(p for p in docs.rglob("*") if p.suffix in (".pdf", ".docx", ".xlsx", ".html"))):
            stem = f"{path.parent.name}-{k:02d}-{path.stem}{path.suffix.replace('.', '-')}"
            if path.suffix == ".pdf":
                made += to_png(path, out, stem)
            elif path.suffix in (".docx", ".xlsx"):
                pdf = office_to_pdf(path, work, conf)
                if pdf:
                    made += to_png(pdf, out, stem)
            elif path.suffix == ".html":
                png = out / f"{stem}.png"
                if html_to_png(path, png, conf):
                    made.append(png)
        if args.readme:
            pick = {"report-page1": "demo-*部门整体支出绩效自评报告-pdf-2.png", "report-cover": "demo-*部门整体支出绩效自评报告-pdf-1.png",
                    "report-docx": "demo-*部门整体支出绩效自评报告-docx-2.png", "xlsx-table": "demo-*业务性*自评表-xlsx-1.png",
                    "docx-table": "demo-*业务性*自评表-docx-1.png", "dashboard": "bureau-*绩效自评汇总-*-html.png",
                    "bureau-xlsx": "bureau-*绩效自评汇总*-xlsx-01.png", "review-xlsx": "bureau-*复核表-xlsx-02.png", "case-report": "case-*自评报告-pdf-3.png"}
            for name, pattern in pick.items():
                found = sorted(out.glob(pattern)) or sorted(out.glob(pattern.replace("-01.png", "-1.png").replace(
                    "-02.png", "-2.png")))
                if found:
                    shutil.copy(found[0], ROOT / "docs" / f"{name}.png")
    print(f"{len(made)} pages rendered into {out}")


if __name__ == "__main__":
    main()
