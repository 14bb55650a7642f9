"""Reading inputs: the flat 自评表 in .xlsx against pandas on the same file, the .xls readers (xlrd vs
python-calamine), the size check before reading, and growth with the row count.

    .venv/bin/python bench/bench_ingest.py [--rows 50000] [--reps 3]

Each comparison runs its contenders in turn, ``--reps`` times, in this one process (so each pair meets the same
machine conditions); medians are printed. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEADER = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]


def flat_xlsx(path: Path, rows: int, blanks: bool = True) -> None:
    """A flat 自评表 of ``rows`` indicators with a title row, merged 一级 cells and blank cells (as published)."""
    from openpyxl import Workbook

    rng = random.Random(1)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("自评表")
    ws.append(["项目支出绩效自评表（2023年度）"])
    ws.append(HEADER)
    for k in range(rows):
        target = rng.randint(1, 500)
        ws.append(["产出指标" if k % 20 < 12 else "效益指标", "数量指标", f"指标{k}", f"≥{target}次",
                   f"{round(target * rng.uniform(0.7, 1.3))}次", 4.5, 4.5, "" if blanks else "无"])
    wb.save(path)


def with_dimension(path: Path, rows: int, cols: int = 8) -> None:
    """Add the <dimension> Excel writes (openpyxl's write-only mode leaves it out)."""
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(b"<sheetViews>", f'<dimension ref="A1:{chr(64 + cols)}{rows}"/><sheetViews>'.encode(), 1)
            zout.writestr(item, data)
    tmp.replace(path)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peak_mb(code: str) -> float:
    """Peak RSS of a fresh interpreter running ``code`` (imports included), as /usr/bin/time measures it."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    import pandas as pd

    from evaluator.load import read_flat_table

    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    # 1. flat xlsx: evaluator's reader (whole table → targets and actuals) against pandas reading the same file
    path = tmp / "flat.xlsx"
    flat_xlsx(path, args.rows)
    times: dict[str, list[float]] = {"evaluator": [], "pd.read_excel (openpyxl)": [], "pd.read_excel (calamine)": []}
    for _ in range(args.reps):
        times["evaluator"].append(timed(lambda: read_flat_table(path, budget=1, spent=1)))
        times["pd.read_excel (openpyxl)"].append(timed(lambda: pd.read_excel(path, header=1, engine="openpyxl")))
        times["pd.read_excel (calamine)"].append(timed(lambda: pd.read_excel(path, header=1, engine="calamine")))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"flat xlsx, {args.rows:,} rows (medians of {args.reps}):")
    for k, v in med.items():
        print(f"  {k:28s} {v:6.2f} s   ratio to pd.read_excel (openpyxl): {v / med['pd.read_excel (openpyxl)']:.2f}")
    code = f"from evaluator.load import read_flat_table; read_flat_table({str(path)!r}, budget=1, spent=1)"
    pandas_code = f"import pandas as pd; pd.read_excel({str(path)!r}, header=1, engine='openpyxl')"
    if Path("/usr/bin/time").exists():
        print(f"  peak RSS in a fresh process: evaluator {peak_mb(code):.0f} MB; pd.read_excel (openpyxl) "
              f"{peak_mb(pandas_code):.0f} MB; importing pandas alone {peak_mb('import pandas'):.0f} MB")

    # 2. growth with the row count
    print("growth (evaluator read):")
    prev = None
    for n in (args.rows // 2, args.rows, args.rows * 2):
        p = tmp / f"flat-{n}.xlsx"
        flat_xlsx(p, n)
        t = statistics.median(timed(lambda: read_flat_table(p, budget=1, spent=1)) for _ in range(args.reps))
        print(f"  {n:>8,} rows {t:6.2f} s" + (f"   × {t / prev:.2f} for 2× rows" if prev else ""))
        prev = t

    # 3. the size check before reading: a 200,000-row sheet with a 100,000-row limit
    big = tmp / "big.xlsx"
    flat_xlsx(big, 200_000)
    os.environ["EVALUATOR_MAX_ROWS"] = "100000"
    from evaluator import InputFileError

    def refuse() -> None:
        try:
            read_flat_table(big)
        except InputFileError:
            return
        raise AssertionError("not refused")

    t = statistics.median(timed(refuse) for _ in range(args.reps))
    with_dimension(big, 200_002)
    t2 = statistics.median(timed(refuse) for _ in range(args.reps))
    del os.environ["EVALUATOR_MAX_ROWS"]
    print(f"200,000-row xlsx refused by a 100,000-row limit: {t2:.3f} s with its <dimension> (as Excel writes it), "
          f"{t:.3f} s without one (the sheet is loaded by calamine, checked before any Python object is built)")

    # 4. .xls: xlrd against python-calamine on the same file (made by LibreOffice, as an office saves it)
    from evaluator.intake import convert_with_libreoffice, soffice_path

    if soffice_path() is None:
        print(".xls comparison skipped: LibreOffice is not installed")
        return
    xls_rows = min(args.rows, 60_000)
    src = tmp / "xls-src.xlsx"
    flat_xlsx(src, xls_rows)
    from openpyxl import load_workbook

    wb = load_workbook(src)
    ws = wb.active
    for r in range(3, xls_rows + 2, 20):  # merged 一级指标 runs, as in a real form
        ws.merge_cells(start_row=r, start_column=1, end_row=r + 11, end_column=1)
    wb.save(src)
    xls = tmp / "flat.xls"
    xls.write_bytes(convert_with_libreoffice(src, "xls"))
    import xlrd
    from python_calamine import CalamineWorkbook

    def with_xlrd() -> tuple[int, int]:
        book = xlrd.open_workbook(str(xls), formatting_info=True)  # merged ranges need formatting_info
        sheet = book.sheet_by_index(0)
        rows = [sheet.row_values(r) for r in range(sheet.nrows)]
        return len(rows), len(sheet.merged_cells)

    def with_calamine() -> tuple[int, int]:
        sheet = CalamineWorkbook.from_path(str(xls)).get_sheet_by_index(0)
        rows = list(sheet.iter_rows())
        return len(rows), len(sheet.merged_cell_ranges or [])

    res = {"xlrd 2 (formatting_info=True)": [], "python-calamine": []}
    found = {}
    for _ in range(args.reps):
        for name, fn in (("xlrd 2 (formatting_info=True)", with_xlrd), ("python-calamine", with_calamine)):
            start = time.perf_counter()
            found[name] = fn()
            res[name].append(time.perf_counter() - start)
    print(f".xls, {xls_rows:,} rows, {sum(1 for _ in range(3, xls_rows + 2, 20)):,} merged regions (medians of {args.reps}):")
    for name, v in res.items():
        print(f"  {name:30s} {statistics.median(v):6.2f} s   rows {found[name][0]:,}, merged regions {found[name][1]:,}")
    print(f"machine: {os.cpu_count()} cores (shared with other work); Python {sys.version.split()[0]}, pandas "
          f"{pd.__version__}; peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
