#!/usr/bin/env bash
# Regenerate the two pictures the README shows, from the bundled seed department:
#   docs/report-page1.png  — first page of the 自评报告 PDF (poppler-utils: pdftoppm)
#   docs/xlsx-table.png    — the 自评表 xlsx as Excel/WPS prints it (LibreOffice: libreoffice-calc-nogui)
#   docs/workbook.png      — a sheet of the clerk's fill-in workbook (evaluator template)
# Neither tool is needed to use evaluator or to run its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
.venv/bin/evaluator report data/targets/shifeng-cppcc-2023.yaml data/actuals/shifeng-cppcc-2023.yaml -o "$out" >/dev/null
pdftoppm -r 80 -png -f 1 -l 1 -singlefile "$out/business-2023-自评报告.pdf" docs/report-page1
# LibreOffice finds a CJK font through fontconfig: point it at the bundled Noto fonts, 宋体 → Noto Serif SC
fontdir=$(.venv/bin/python -c "import pylopdf_fonts_zh_cn as f, os; print(os.path.dirname(f.serif_path()))")
cat > "$out/fonts.conf" <<CONF
<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include><dir>$fontdir</dir>
<alias><family>宋体</family><prefer><family>Noto Serif SC</family></prefer></alias>
<alias><family>SimSun</family><prefer><family>Noto Serif SC</family></prefer></alias></fontconfig>
CONF
FONTCONFIG_FILE="$out/fonts.conf" soffice --headless --convert-to pdf --outdir "$out" "$out/business-2023-自评表.xlsx" >/dev/null
pdftoppm -r 80 -png -f 1 -l 1 -singlefile "$out/business-2023-自评表.pdf" docs/xlsx-table
# the clerk's fill-in workbook, first table sheet, with the example actuals carried in
.venv/bin/evaluator template data/targets/shifeng-cppcc-2023.yaml --actuals data/actuals/shifeng-cppcc-2023.yaml \
  -o "$out/填报.xlsx" >/dev/null
FONTCONFIG_FILE="$out/fonts.conf" soffice --headless --convert-to pdf --outdir "$out" "$out/填报.xlsx" >/dev/null
pdftoppm -r 80 -png -f 4 -l 4 -singlefile "$out/填报.pdf" docs/workbook
rm -rf "$out"
echo "docs/report-page1.png docs/xlsx-table.png docs/workbook.png"
