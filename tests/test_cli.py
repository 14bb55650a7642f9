"""The CLI through its real entry point (the installed console script and python -m)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CASES, ROOT, SEED_ACTUALS, SEED_TARGETS

SCRIPT = shutil.which("evaluator", path=str(Path(sys.executable).parent)) or shutil.which("evaluator")


def run(*args: str, script: bool = True) -> subprocess.CompletedProcess:
    cmd = [SCRIPT, *args] if script and SCRIPT else [sys.executable, "-m", "evaluator", *args]
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def test_console_script_is_installed():
    assert SCRIPT is not None


def test_score_prints_tables_trace_totals_and_grade():
    r = run("score", str(SEED_TARGETS), str(SEED_ACTUALS))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "石峰区政协 2023 年度绩效自评" in out and "示例数据" in out
    assert "实际 4次 ÷ 目标 5次 × 分值 8.34 = 6.67" in out
    assert "总分 97.66，等级 优" in out and "总分 94.14，等级 优" in out and "总分 98.62，等级 优" in out
    assert "汇总表，没有绩效指标，不单独评分" in out
    assert "target-contradicts-notes" in out


def test_score_json_shape_is_stable():
    r = run("score", str(SEED_TARGETS), str(SEED_ACTUALS), "--json", script=False)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"total", "grade", "execution", "indicators", "findings"} <= set(data)
    assert (data["total"], data["grade"]) == (97.66, "优")  # the 部门整体 table
    assert data["execution"] == {"rate": pytest.approx(526.82 / 541.37), "score": 9.73}
    assert len(data["indicators"]) == 37
    first = data["indicators"][0]
    assert {"level1", "level2", "level3", "target", "actual", "weight", "score", "status", "rule", "explanation"} <= set(first)
    assert (first["level3"], first["score"], first["status"], first["rule"]) == ("政协全会", 8.33, "ok", "mof-2020@2020.1")
    assert [t["table"] for t in data["tables"]] == ["dept-2023", "business-2023", "sectors-2023"]
    assert all({"code", "severity", "message", "location"} <= set(f) for f in data["findings"])


def test_score_writes_output_file(tmp_path):
    out = tmp_path / "r" / "result.json"
    r = run("score", str(SEED_TARGETS), str(SEED_ACTUALS), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["total"] == 97.66
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases not present")
def test_score_flat_table_with_budget():
    r = run("score", str(CASES / "yunnan-yongde-nutrition-2022.csv"), "--budget", "38.766462", "--spent", "38.766462",
            "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["total"], data["grade"], data["execution"]["score"]) == (99.8, "优", 10.0)
    assert [i["level3"] for i in data["indicators"]][:2] == ["学生受资助人数", "营养改善计划覆盖率"]
    mismatches = [f["location"]["indicator"] for f in data["findings"] if f["code"] == "claimed-score-mismatch"]
    assert mismatches == ["资金到位及时率", "政策知晓率"]


def test_rules_option_changes_the_result():
    r = run("score", str(SEED_TARGETS), str(SEED_ACTUALS), "--rules", "provincial-platform-2022", "--json")
    data = json.loads(r.stdout)
    assert data["indicators"][0]["rule"] == "provincial-platform-2022@2022.1"
    dept = data["tables"][0]
    scores = [i["score"] for i in data["indicators"] if i["table"] == dept["table"] and i["score"] is not None]
    assert all(round(x, 1) == x for x in scores)  # one decimal in this rule set
    assert data["total"] == round(sum(scores) + dept["execution"]["score"], 1)


def test_check_lists_findings_and_exit_code():
    r = run("check", str(SEED_TARGETS), str(SEED_ACTUALS))
    assert r.returncode == 0, r.stderr
    assert "发现 9 项问题：错误 0，警告 7，提示 2" in r.stdout


def test_check_exits_1_on_error_findings(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("一级指标,二级指标,三级指标,年度指标值,实际完成值,分值\n产出指标,数量指标,会议,≥5次,,90\n", encoding="utf-8")
    r = run("check", str(p), "--budget", "1", "--spent", "1")
    assert r.returncode == 1
    assert "[错误]" in r.stdout and "缺少实际完成值" in r.stdout and "第 2 行" in r.stdout


@pytest.mark.parametrize("args,expected", [
    (["score", "nope.yaml", "nope2.yaml"], "文件不存在"),
    (["score", "{seed}"], "缺少实际完成值文件"),
    (["score", "{seed}", "{actuals}", "--rules", "mof-2021"], "找不到规则集“mof-2021”"),
    (["score", "{bad}", "{actuals}"], "文件格式有误"),
    (["score", "{seed}", "{actuals}", "--budget", "3"], "--budget/--spent 只用于自评表"),
    (["rules", "no-such-rules"], "找不到规则集"),
])
def test_malformed_input_gives_a_located_chinese_message(tmp_path, args, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text("unit_name: [\n", encoding="utf-8")
    args = [a.format(seed=SEED_TARGETS, actuals=SEED_ACTUALS, bad=bad) for a in args]
    r = run(*args)
    assert r.returncode == 1
    assert r.stderr.startswith("错误：") and expected in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_debug_shows_the_traceback():
    r = run("--debug", "score", "nope.yaml", "nope2.yaml")
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_rules_lists_and_explains():
    r = run("rules")
    assert r.returncode == 0 and "mof-2020" in r.stdout and "provincial-platform-2022" in r.stdout
    r = run("rules", "provincial-platform-2022")
    assert r.returncode == 0
    assert "达到指标值 130% 及以上扣 2 分" in r.stdout and "执行率低于 80% 时总分不超过 89" in r.stdout
    for title in ("规则集", "依据", "权重", "计分方法", "其他规则", "评价等级"):  # readable tables, not raw JSON
        assert title in r.stdout
    assert "一体化平台绩效自评操作手册" in r.stdout and "保留 1 位小数（四舍五入）" in r.stdout
    assert "{" not in r.stdout and "late_fraction" not in r.stdout


def test_help_is_in_chinese():
    r = run("--help")
    assert r.returncode == 0 and "预算绩效自评" in r.stdout
    r = run("score", "--help")
    assert "全年预算数" in r.stdout


def test_help_loads_no_heavy_module():
    """`evaluator --help` starts fast because nothing heavy is imported for it (the import graph, not a timing):
    pandas, numpy, the pydantic models and rule sets, openpyxl and rich's tables load inside the commands."""
    code = ("import sys; sys.argv = ['evaluator', '--help']\n"
            "from evaluator.cli import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "heavy = ('pandas', 'numpy', 'openpyxl', 'pydantic', 'yaml', 'evaluator.model', 'evaluator.rules', 'rich.table')\n"
            "print('LOADED', sorted(m for m in heavy if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "LOADED []" in r.stdout
    import evaluator  # the public API still works, each name loaded on first use

    assert evaluator.evaluate.__module__ == "evaluator.evaluation" and "load_rules" in dir(evaluator)


def test_version():
    r = run("--version", script=False)
    assert r.returncode == 0 and r.stdout.startswith("evaluator ")


def test_json_written_once_the_same_for_stdout_and_file(tmp_path):
    """`-o` writes exactly what `--json` prints; every indicator appears once (in `indicators`, not again in
    `tables`); no NaN/Infinity."""
    out = tmp_path / "r.json"
    r = run("score", str(SEED_TARGETS), str(SEED_ACTUALS), "--json", "-o", str(out))
    assert r.returncode == 0
    assert out.read_text(encoding="utf-8") == r.stdout
    data = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert all("indicators" not in t for t in data["tables"])
    assert sorted({i["table"] for i in data["indicators"]}) == sorted(t["table"] for t in data["tables"])


# --------------------------------------------------------------------------- consoles and disks (issue 11 §4)
ODD_ACTUALS = """unit_name: 测试单位✓
year: 2023
tables:
  - table: business-2023
    indicators:
      - {indicator: 政协全会, actual: "1次 ✓ ﹦ 🎉 ≥"}
"""


@pytest.mark.parametrize("command", [["score"], ["score", "--json"], ["check"], ["check", "--json"]])
def test_a_gbk_console_gets_output_not_a_traceback(tmp_path, command):
    """A Chinese Windows console or redirect (GBK) lacks ✓, ﹦ and emoji: text output shows them as "?", JSON as
    escapes that read back exactly; never a UnicodeEncodeError."""
    actuals = tmp_path / "actuals.yaml"
    actuals.write_text(ODD_ACTUALS, encoding="utf-8")
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "gbk"}
    r = subprocess.run([sys.executable, "-m", "evaluator", command[0], str(SEED_TARGETS), str(actuals), *command[1:]],
                       capture_output=True, cwd=ROOT, env=env, timeout=120)
    out, err = r.stdout.decode("gbk"), r.stderr.decode("gbk")
    assert r.returncode == (1 if command[0] == "check" else 0), err
    assert "Traceback" not in err and "内部错误" not in err
    if "--json" in command:
        data = json.loads(out)
        if command[0] == "score":
            assert any(i["actual"] == "1次 ✓ ﹦ 🎉 ≥" for i in data["indicators"]) and data["unit_name"] == "石峰区政协"
        else:
            assert data and all(f["message"] for f in data)
    elif command[0] == "score":
        assert "1次 ? ﹦ ? ≥" in out or "1次 ?" in out  # rich may wrap the cell; ﹦ and ≥ exist in GBK


def test_an_unwritable_output_gets_the_one_line_message(tmp_path, monkeypatch):
    """A read-only -o (simulated: root may write anywhere) and a full disk: the one-line Chinese message, exit 1, no
    traceback, and no file half-written."""
    import errno

    from typer.testing import CliRunner

    from evaluator import output
    from evaluator.cli import app

    out = tmp_path / "out" / "result.json"

    def read_only(*a, **k):
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(output.tempfile, "mkstemp", read_only)
    r = CliRunner().invoke(app, ["score", str(SEED_TARGETS), str(SEED_ACTUALS), "-o", str(out)])
    assert r.exit_code == 1 and "没有写入权限：目录只读" in r.output and str(out) in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    monkeypatch.undo()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", full)
    out.parent.mkdir(exist_ok=True)
    out.write_text("old", encoding="utf-8")
    for args in (["score", str(SEED_TARGETS), str(SEED_ACTUALS), "-o", str(out)],
                 ["report", str(SEED_TARGETS), str(SEED_ACTUALS), "-o", str(tmp_path / "reports"), "--format", "html"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 1 and "磁盘空间不足，无法写入" in r.output, r.output
        assert "Traceback" not in r.output and "内部错误" not in r.output
    assert out.read_text(encoding="utf-8") == "old"  # the old file stays; no temporary file is left beside it
    assert sorted(p.name for p in out.parent.iterdir()) == ["result.json"]


def test_a_large_table_prints_a_summary_and_writes_the_full_result(tmp_path):
    """Beyond a screenful (SCREEN_ROWS indicators) the text output is each table's totals, the first findings and
    the name of the file holding every row; that file is the --json result."""
    rows = ["一级指标,二级指标,三级指标,年度指标值,实际完成值,分值"]
    rows += [f"产出指标,数量指标,指标{k},≥5次,{k % 7}次," for k in range(300)]
    table = tmp_path / "大表.csv"
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "evaluator", "score", str(table), "--budget", "10", "--spent", "9"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    full = tmp_path / "reports" / "大表-评分结果.json"
    assert f"300 项指标，逐项得分和计算过程见 {Path('reports') / full.name}" in r.stdout
    assert "指标150" not in r.stdout and len(r.stdout.splitlines()) < 120
    assert len(json.loads(full.read_text(encoding="utf-8"))["indicators"]) == 300


@pytest.mark.parametrize("setting", ["40000", "0", "很多"])
def test_a_cell_limit_beyond_excel_is_refused(tmp_path, setting):
    """A cell limit above Excel's 32,767 characters would let a text in that every 自评表 writer then cuts: the
    setting is refused with one line saying why, before anything is scored or written."""
    table = tmp_path / "表.csv"
    table.write_text("一级指标,二级指标,三级指标,年度指标值,实际完成值,分值\n产出指标,数量指标,调研,≥5次,5次,10\n",
                     encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "evaluator", "score", str(table), "--budget", "10", "--spent", "9",
                        "-o", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                       env={**os.environ, "EVALUATOR_MAX_CELL_CHARS": setting, "PYTHONIOENCODING": "utf-8"})
    assert r.returncode != 0
    assert f"EVALUATOR_MAX_CELL_CHARS={setting} 无效：应为 1 至 32767 之间的整数" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
