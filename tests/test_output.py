"""Where files land (issue 11 §2): one safe name for every output file, collisions numbered, no command writes over
its own input, a filled workbook is never replaced (not even with --force), outputs get the user's umask."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from openpyxl import load_workbook

from evaluator.errors import OutputFileError
from evaluator.output import inputs_protected, safe_name, unique_names, write_atomic
from evaluator.workbook import free_path, holds_actuals, write_template

from .conftest import ROOT, SEED_ACTUALS, SEED_TARGETS

RESERVED = ("con", "prn", "aux", "nul", "com1", "lpt9")


def _safe(name: str) -> bool:
    return (name and "/" not in name and "\\" not in name and "\0" not in name and not name.startswith(".")
            and len(name.encode("utf-8")) <= 120 and name.split(".")[0].lower() not in RESERVED)


@pytest.mark.parametrize("name,expected", [
    ("../../x", "x"), ("/etc/passwd", "etc_passwd"), ("a/b", "a_b"), ("a\\b", "a_b"), ("x\0y", "x_y"),
    ("CON", "_CON"), ("nul.txt", "_nul.txt"), ("Aux", "_Aux"), ("", "未命名"), ("..", "未命名"),
    ("石峰区政协2023年部门整体支出绩效", "石峰区政协2023年部门整体支出绩效"),
])
def test_safe_name_cases(name, expected):
    assert safe_name(name) == expected


def test_a_long_name_is_cut_at_a_character():
    name = safe_name("政" * 300)
    assert len(name.encode("utf-8")) <= 120 and set(name) == {"政"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_makes_a_name_inside_the_output_folder(tmp_path_factory, text):
    out = tmp_path_factory.mktemp("o")
    name = safe_name(text)
    assert _safe(name), name
    assert (out / name).resolve().parent == out.resolve()


def test_names_that_collide_after_cleaning_are_numbered():
    names = unique_names([safe_name(n) for n in ("x", "./x", "X", "../x", "y")])
    assert names == ["x", "x（2）", "X（3）", "x（4）", "y"]
    assert len({n.casefold() for n in names}) == len(names)


def test_write_atomic_refuses_a_commands_own_input(tmp_path):
    src = tmp_path / "自评填报.xlsx"
    src.write_bytes(b"precious")
    link = tmp_path / "link.xlsx"
    link.symlink_to(src)
    with inputs_protected(src):
        for target in (src, tmp_path / "." / "自评填报.xlsx", link):
            with pytest.raises(OutputFileError, match="输出文件与输入文件是同一个文件"):
                write_atomic(target, b"json")
        write_atomic(tmp_path / "other.json", b"ok")
    assert src.read_bytes() == b"precious"
    write_atomic(src, b"now allowed")  # outside the command, the path is free again


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "evaluator", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


def test_score_refuses_to_overwrite_the_filled_workbook(tmp_path, seed_targets, seed_actuals, mof):
    from .test_workbook import _fill

    book = write_template(seed_targets, mof, tmp_path / "自评填报.xlsx")
    _fill(book, seed_actuals)
    before = book.read_bytes()
    r = run("score", SEED_TARGETS, book, "-o", book)
    assert r.returncode == 1 and "输出文件与输入文件是同一个文件" in r.stderr and "Traceback" not in r.stderr
    assert book.read_bytes() == before
    r = run("score", SEED_TARGETS, SEED_ACTUALS, "-o", SEED_ACTUALS)  # a data file too
    assert r.returncode == 1 and "输出文件与输入文件是同一个文件" in r.stderr


def test_template_never_writes_over_its_targets(tmp_path):
    targets = tmp_path / "targets.yaml"
    targets.write_bytes(SEED_TARGETS.read_bytes())
    r = run("template", targets, "-o", targets, "--force")
    assert r.returncode == 1 and "输出文件与输入文件是同一个文件" in r.stderr
    assert targets.read_bytes() == SEED_TARGETS.read_bytes()


@pytest.mark.parametrize("entry", ["deviation_note", "budget", "narrative", "band"])
def test_template_force_never_replaces_a_workbook_with_any_entry(tmp_path, seed_targets, mof, entry):
    """One 偏差原因, one budget figure, one 实际完成情况 or one 档次 is an entry: --force keeps the workbook."""
    path = write_template(seed_targets, mof, tmp_path / "填报.xlsx")
    assert not holds_actuals(path) and free_path(path, force=True) == path
    wb = load_workbook(path)
    ws = next(w for w in wb.worksheets if str(w.cell(row=2, column=1).value or "").startswith("表编号"))  # a table's
    if entry == "deviation_note":
        ws.cell(row=4, column=8, value="受疫情影响")
    elif entry == "budget":
        wb["预算执行"].cell(row=2, column=6, value=526.82)
    elif entry == "narrative":
        row = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "实际完成情况")
        ws.cell(row=row, column=4, value="全年召开全会 1 次")
    else:
        ws.cell(row=4, column=9, value="达成")
    wb.save(path)
    assert holds_actuals(path)
    assert free_path(path, force=True).name == "填报.v2.xlsx"


def test_a_workbook_evaluator_did_not_write_is_never_replaced(tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "自评填报.xlsx"
    Workbook().save(path)
    assert holds_actuals(path) and free_path(path, force=True) != path


def test_outputs_get_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        p = write_atomic(tmp_path / "a.json", b"{}")
        assert stat.S_IMODE(p.stat().st_mode) == 0o644
        os.umask(0o027)
        q = write_atomic(tmp_path / "b.json", b"{}")
        assert stat.S_IMODE(q.stat().st_mode) == 0o640
        os.chmod(p, 0o600)  # a file being replaced keeps the mode its owner gave it
        assert stat.S_IMODE(write_atomic(p, b"[]").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_command_outputs_are_readable_by_others(tmp_path):
    r = subprocess.run(f"umask 022 && {sys.executable} -m evaluator score {SEED_TARGETS} {SEED_ACTUALS} -o r.json "
                       f"&& {sys.executable} -m evaluator template {SEED_TARGETS} -o t.xlsx", shell=True,
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    for name in ("r.json", "t.xlsx"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
