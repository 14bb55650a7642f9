"""The store on SQLite and PostgreSQL: Alembic schema, upgrading old stores, ids from the database, concurrent
writers, read-only and foreign databases, missing drivers, and the 复核 import's checks."""
from __future__ import annotations

import gc
import hashlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, text

from evaluator import EvaluatorError, InputFileError
from evaluator.store import HEAD, REVISIONS, Store
from tests.conftest import ROOT, need

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
import old_store  # noqa: E402  evaluator 0.1's store.py, to build stores in the old format


def old_item(dept: str, table: str = "t1", digest: str = "h", n: int = 3) -> dict:
    """A scored table as evaluator 0.1's store took it: indicator and finding rows as dicts."""
    return {"submission": {"department": dept, "year": 2023, "table_id": table, "inputs_hash": digest,
                           "rule_set": "mof-2020@2020.1", "total": 90.0},
            "indicators": [{"position": p, "level3": f"指标{p}", "weight": 10.0, "score": 8.0, "status": "ok"}
                           for p in range(n)],
            "findings": [{"code": "missing-deviation-note", "severity": "warning", "message": "m", "location": "{}"}]}


def item(*args, **kwargs) -> dict:
    """``old_item`` as ``Store.record`` takes it (the form ``bureau.score_items`` builds): the rows as tuples in
    the tables' column order without the submission id, the figures by ``tablestats.stats_of``."""
    from evaluator.schema import findings, indicators
    from evaluator.tablestats import INDICATOR_COLUMNS, stats_of

    old = old_item(*args, **kwargs)
    inds, found = old["indicators"], old["findings"]
    columns = {"submission_id": [0] * len(inds), **{c: [r.get(c) for r in inds] for c in INDICATOR_COLUMNS[1:]}}
    stats, groups = stats_of(columns, [(0, f["code"]) for f in found], [0])
    for row in (*stats, *groups):
        del row["submission_id"]
    return {"submission": old["submission"], "stats": (stats[0], groups),
            "rows": {"indicators": [tuple(map(r.get, [c.name for c in indicators.columns][1:])) for r in inds],
                     "findings": [tuple(map(f.get, [c.name for c in findings.columns][1:])) for f in found]}}


def test_revisions_listed_in_the_store_are_the_shipped_ones():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "evaluator:migrations")
    script = ScriptDirectory.from_config(cfg)
    assert [r.revision for r in reversed(list(script.walk_revisions()))] == list(REVISIONS)
    assert script.get_current_head() == HEAD


def test_migrated_schema_is_the_model(db_url):
    """The revisions build exactly the tables the code queries (Alembic finds nothing to change)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from evaluator.schema import metadata

    with Store(db_url) as store, store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def _old_store(url: str) -> None:
    old = old_store.Store(url)
    old.record([old_item("甲局"), old_item("乙局"), old_item("甲局", "t2")])
    old.record([old_item("甲局", digest="h2")])  # a second version
    old.save_reviews([{"submission_id": 1, "position": 0, "score": 6.0, "reviewer": "张三", "note": "材料不全"}])
    old.engine.dispose()


def _dump(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {t: conn.execute(text(f"SELECT {cols} FROM {t} ORDER BY 1, 2")).fetchall() for t, cols in (
            ("submissions", "id, department, table_id, version, inputs_hash, total"),
            ("indicators", "submission_id, position, level3, score"),
            ("findings", "submission_id, code"),
            ("reviews", "submission_id, position, score, reviewer, note"))}
    engine.dispose()
    return out


def test_an_old_store_is_upgraded_in_place(db_url):
    """A store written by evaluator 0.1 (its own code, in tests/fixtures/old_store.py) opens, keeps every row,
    and from then on gets its ids from the database — on PostgreSQL the id sequence now runs past the old ids."""
    _old_store(db_url)
    before = _dump(db_url)
    with Store(db_url) as store:
        assert store.migrate() == HEAD
        counts, ids = store.record_ids([item("丙局"), item("甲局", digest="h3")])
        assert counts == {"new": 1, "updated": 1, "unchanged": 0} and ids == [5, 6]
        assert [v["version"] for v in store.versions("甲局", 2023, "t1")] == [1, 2, 3]
        assert store.reviews_of([1])[0]["note"] == "材料不全"
        with store.writing() as conn:  # an insert that names no id at all
            conn.execute(text("INSERT INTO submissions (department, year, table_id, version, inputs_hash, rule_set) "
                              "VALUES ('丁局', 2023, 't1', 1, 'x', 'r')"))
        assert max(s["id"] for s in store.current()) == 7
        # the bureau's per-table figures: computed for the old submissions by the upgrade, at record time for new
        with store.engine.connect() as conn:
            stats = {r.submission_id: r for r in conn.execute(text("SELECT * FROM submission_stats"))}
    assert sorted(stats) == [1, 2, 3, 4, 5, 6]
    for sid in (1, 5):  # one old, one new: three rows at 8 of 10 points, one unexplained shortfall
        r = stats[sid]
        assert (r.ok_rows, r.full_rows, r.short_rows, r.scorable_rows, r.qualitative_rows, r.stock_rows,
                r.claimed_over, r.claimed_sum, r.missing_notes, r.word_actuals) == (3, 0, 3, 3, 0, 0, 0.0, 24.0, 1, 0)
    after = _dump(db_url)
    assert {t: rows[:len(before[t])] for t, rows in after.items()} == before


def test_reopening_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    Store(url).close()
    digest = hashlib.sha256((tmp_path / "e.db").read_bytes()).hexdigest()
    with Store(url) as store:
        assert store.migrate() == HEAD
    assert hashlib.sha256((tmp_path / "e.db").read_bytes()).hexdigest() == digest


WRITER = textwrap.dedent("""
    import sys
    from evaluator.store import Store
    sys.path.insert(0, sys.argv[3])
    from test_store_items import item
    with Store(sys.argv[1]) as store:
        for k in range(int(sys.argv[4])):
            store.record([item(f"{sys.argv[2]}-{k}-{j}", n=20) for j in range(5)] + [item("共同", digest=str(k))])
""")


def _writers(url: str, tmp_path: Path, n: int, rounds: int) -> list[subprocess.CompletedProcess]:
    (tmp_path / "test_store_items.py").write_text(
        "from tests.test_store import item\n", encoding="utf-8")
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    procs = [subprocess.Popen([sys.executable, "-W", "error", str(script), url, f"w{k}", str(tmp_path), str(rounds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for k in range(n)]
    outputs = [p.communicate(timeout=300) for p in procs]
    return [subprocess.CompletedProcess(p.args, p.returncode, *out) for p, out in zip(procs, outputs)]


def test_concurrent_writers_on_a_new_database_lose_nothing(db_url, tmp_path):
    """Three processes open the same new database at once (schema setup races) and write submissions, including
    new versions of one shared table: nothing fails, every row is there, versions are 1…n without a gap."""
    done = _writers(db_url, tmp_path, 3, 8)
    assert [(p.returncode, p.stderr.decode()[-500:]) for p in done] == [(0, "")] * 3
    with Store(db_url) as store:
        current = store.current()
        assert len(current) == 3 * 8 * 5 + 1
        assert [v["version"] for v in store.versions("共同", 2023, "t1")] == list(range(1, len(
            store.versions("共同", 2023, "t1")) + 1))
        ids = [s["id"] for s in current]
        assert len(set(ids)) == len(ids)
        assert len(store.indicators_of(ids)) == 3 * 8 * 5 * 20 + 3


def test_compare_on_a_read_only_database(tmp_path, mof):
    """`compare` reads a store it may not write: opened read-only (mode=ro), and on a read-only file system."""
    from typer.testing import CliRunner

    from evaluator.cli import app
    from evaluator.synth import synth_province

    synth_province(tmp_path / "p", departments=3, seed=1, tables=2, indicators=5)
    db = tmp_path / "db" / "e.db"
    db.parent.mkdir()
    assert CliRunner().invoke(app, ["batch", str(tmp_path / "p"), "--db", f"sqlite:///{db}"]).exit_code == 0
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    ro = CliRunner().invoke(app, ["compare", "--db", f"sqlite:///file:{db}?mode=ro&uri=true", "-o", str(tmp_path / "o")])
    assert ro.exit_code == 0, ro.output
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    mount = tmp_path / "ro"
    mount.mkdir()
    bound = subprocess.run(["mount", "--bind", "-o", "ro", str(db.parent), str(mount)], capture_output=True)
    need(bound.returncode == 0, "a read-only bind mount (root, mount)", "run the tests as root")
    try:
        result = CliRunner().invoke(app, ["compare", "--db", f"sqlite:///{mount / 'e.db'}", "-o", str(tmp_path / "o2")])
        assert result.exit_code == 0, result.output
        sample = CliRunner().invoke(app, ["review", "sample", "--db", f"sqlite:///{mount / 'e.db'}",
                                          "-o", str(tmp_path / "r.xlsx")])
        assert sample.exit_code == 1 and "数据库是只读的，无法写入" in sample.output and "Traceback" not in sample.output
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("kind", ["other-program", "not-sqlite"])
def test_a_foreign_file_is_refused_untouched(tmp_path, kind):
    path = tmp_path / "other.db"
    if kind == "other-program":
        import sqlite3

        con = sqlite3.connect(path)
        con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO customers (name) VALUES ('x')")
        con.commit()
        con.close()
        message = "数据库中已有其他程序的表（customers），不是 evaluator 的数据库；为免损坏，未做任何修改"
    else:
        path.write_text("姓名,电话\n张三,123\n", encoding="utf-8")
        message = "这个文件不是 SQLite 数据库，未做任何修改"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(EvaluatorError) as e:
        Store(f"sqlite:///{path}")
    assert message in str(e.value)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_the_store_file_is_the_sqlite_file_of_its_url(tmp_path, db_url):
    """``Store.file``: the file a SQLite URL names (also as a ``file:`` URI, opened read-only or not), None for an
    in-memory database — which batch workers cannot open — and for PostgreSQL."""
    from evaluator.bureau import _shared

    db = tmp_path / "evaluator.db"  # (db_url's SQLite file)
    with Store(db_url) as store:
        assert store.file == (db if db_url.startswith("sqlite") else None) and _shared(store)
    if db_url.startswith("sqlite"):
        with Store(f"sqlite:///file:{db}?mode=ro&uri=true") as store:
            assert store.file == db and _shared(store)
        for memory in ("sqlite://", "sqlite:///:memory:"):
            with Store(memory) as store:
                assert store.file is None and not _shared(store), memory


def test_a_newer_store_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    with Store(url) as store, store.writing() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(EvaluatorError, match="数据库由更新版本的 evaluator 创建（结构版本 9999）"):
        Store(url)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(EvaluatorError, match="数据库所在的文件夹不存在"):
        Store(f"sqlite:///{tmp_path / 'no' / 'e.db'}")


def test_a_missing_driver_says_what_to_install(tmp_path):
    """--db postgresql+psycopg://… without psycopg installed: the one-line message naming the package."""
    script = tmp_path / "run.py"
    script.write_text("import sys\nsys.modules['psycopg'] = None\nfrom evaluator.cli import main\nmain()\n",
                      encoding="utf-8")
    out = subprocess.run([sys.executable, str(script), "compare", "--db", "postgresql+psycopg://u:secret@127.0.0.1/x"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == ("错误：postgresql+psycopg://u:***@127.0.0.1/x：缺少数据库驱动 psycopg"
                          "（请安装：pip install 'evaluator[postgres]'（PostgreSQL 驱动 psycopg 3））\n")


def test_closed_stores_leave_no_open_connection(db_url):
    """Used and closed, a store leaves nothing for the garbage collector to warn about (filterwarnings=error
    turns a ResourceWarning from an unclosed connection into a failure)."""
    for _ in range(3):
        with Store(db_url) as store:
            store.record([item("甲局")])
            store.current()
    gc.collect()


# --------------------------------------------------------------------------- 复核 import
@pytest.fixture()
def reviewed(tmp_path, mof):
    from evaluator.bureau import batch, draw_sample, write_review_workbook
    from tests.test_bureau import CASES, department

    root = tmp_path / "s"
    for name, (kwargs, _) in list(CASES.items())[:2]:
        department(root, name, **kwargs)
    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    batch(root, mof, store)
    path = write_review_workbook(store, draw_sample(store, share=1.0, seed=1), tmp_path / "复核表.xlsx")
    yield store, path
    store.close()


def _sheets(wb):
    """The department sheets of the 复核 workbook (the 目录 sheet aside)."""
    return [ws for ws in wb.worksheets if ws.cell(row=1, column=1).value == "提交编号"]


def _at(path: Path) -> str:
    """Where row 2's 复核得分 is, as the import names it: the first department sheet and its cell."""
    from openpyxl.utils import get_column_letter

    ws = _sheets(load_workbook(path))[0]
    head = [c.value for c in ws[1]]
    return f"工作表“{ws.title}”{get_column_letter(head.index('复核得分') + 1)}2"


def _set(path: Path, values: dict[tuple[int, str], object]) -> None:
    wb = load_workbook(path)
    ws = _sheets(wb)[0]
    head = [c.value for c in ws[1]]
    for (row, name), v in values.items():
        ws.cell(row=row, column=head.index(name) + 1).value = v
    wb.save(path)


@pytest.mark.parametrize("cells, problem", [
    ({(2, "复核得分"): -1}, "{at}（复核得分）：-1 小于 0"),
    ({(2, "复核得分"): "nan"}, "{at}（复核得分）：“nan”不是数字"),
    ({(2, "复核得分"): "1e999"}, "{at}（复核得分）：“1e999”不是数字"),  # inf (Excel stores no inf)
    ({(2, "复核得分"): "-inf"}, "{at}（复核得分）：“-inf”不是数字"),
    ({(2, "复核得分"): "五分"}, "{at}（复核得分）：“五分”不是数字"),
    ({(2, "复核得分"): 30.5}, "{at}（复核得分）：30.5 超过该指标的分值 30"),
    ({(2, "复核得分"): 5, (2, "分值"): 100}, None),  # the weight is the stored one, not what the sheet says
    ({(2, "复核得分"): "=1+1"}, "{at}（复核得分）是公式“=1+1”，但没有计算结果"),
    ({(2, "复核得分"): 5, (2, "提交编号"): 999}, "{at}：提交编号“999”不在数据库中"),
    ({(2, "复核得分"): 5, (2, "提交编号"): "甲"}, "{at}：提交编号“甲”不在数据库中"),
    ({(2, "复核得分"): 5, (2, "序号"): 99}, "{at}：提交 1 没有序号“99”的指标"),
])
def test_review_import_refuses_bad_cells_naming_them(reviewed, cells, problem):
    from evaluator.bureau import import_reviews

    store, path = reviewed
    _set(path, cells)
    if problem is None:
        assert import_reviews(store, path) == 1
        return
    with pytest.raises(InputFileError) as e:
        import_reviews(store, path)
    assert problem.format(at=_at(path)) in str(e.value) and "未导入" in str(e.value)
    assert store.reviews_of([s["id"] for s in store.current()]) == []


def test_a_partly_reviewed_table_is_marked_partial(reviewed):
    from evaluator.bureau import build_view, import_reviews

    store, path = reviewed
    first = [s["id"] for s in store.current()][0]
    wb = load_workbook(path)
    other = None  # (sheet, row) of the first row of another table
    for ws in _sheets(wb):
        head = [c.value for c in ws[1]]
        for r in range(2, ws.max_row + 1):
            mine = ws.cell(row=r, column=head.index("提交编号") + 1).value == first
            ws.cell(row=r, column=head.index("复核得分") + 1).value = 0 if mine else None
            if not mine and other is None:
                other = (ws.title, r)
    wb[other[0]].cell(row=other[1], column=head.index("复核得分") + 1).value = 1
    wb.save(path)
    import_reviews(store, path)
    review = build_view(store)["review"].set_index("submission_id")
    assert not review.loc[first, "partial"] and bool(review.drop(first)["partial"].all())
    # importing again keeps every earlier score; the latest of each row counts
    wb = load_workbook(path)
    wb[other[0]].cell(row=other[1], column=head.index("复核得分") + 1).value = 2
    wb.save(path)
    import_reviews(store, path)
    ids = review.index.tolist()
    assert len(store.reviews_of(ids, history=True)) == 2 * len(store.reviews_of(ids)) == 12
    assert [r["score"] for r in store.reviews_of(ids) if r["submission_id"] != first] == [2.0]


def test_two_batch_runs_at_once(db_url, tmp_path):
    """`evaluator batch` twice at the same moment on the same folder and database: both finish without an error,
    and every table is stored once (the second run finds the first run's rows unchanged, or the reverse)."""
    from evaluator.synth import synth_province

    synth_province(tmp_path / "p", departments=6, seed=4, tables=3, indicators=6)
    env = {**os.environ, "EVALUATOR_JOBS": "1"}
    runs = [subprocess.Popen([sys.executable, "-W", "error", "-m", "evaluator", "batch", str(tmp_path / "p"), "--db",
                              db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env)
            for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in runs]
    for p, (out, err) in zip(runs, outputs):
        assert "Traceback" not in err.decode() and "内部错误" not in err.decode(), err.decode()[-1500:]
        assert "已评分" in out.decode()
    with Store(db_url) as store:
        current = store.current()
        assert current and {s["version"] for s in current} == {1}
        stored = len(current)
    news = [int(re.search(r"新增 (\d+)", out.decode()).group(1)) for out, _ in outputs]
    assert sum(news) == stored


def test_record_reads_the_latest_versions_of_many_departments_and_stores_every_row(db_url):
    """``record`` reads the stored versions of the departments it is given (more than one 900-id query's worth),
    numbers versions from them, and stores each item's indicator and finding rows under its own submission id."""
    many = [item(f"局{k:04d}", n=2) for k in range(950)]
    with Store(db_url) as store:
        assert store.record(many) == {"new": 950, "updated": 0, "unchanged": 0}
        again = [item(f"局{k:04d}", n=2, digest="h2" if k % 300 == 0 else "h") for k in range(950)]
        counts, ids = store.record_ids(again + [item("局0001", digest="h3"), item("局0001", digest="h3")])
        assert counts == {"new": 0, "updated": 5, "unchanged": 947}
        assert ids[1] == 2 and ids[-2] == ids[-1] == 955  # (the same table twice in one call: stored once, one id)
        assert [v["version"] for v in store.versions("局0001", 2023, "t1")] == [1, 2]
        with store.engine.connect() as conn:
            inds = conn.execute(text("SELECT submission_id, position, level3, weight, score, status, target "
                                     "FROM indicators ORDER BY 1, 2")).fetchall()
            finds = conn.execute(text("SELECT submission_id, code, severity, message, location FROM findings "
                                      "ORDER BY 1")).fetchall()
    n = 950 + 5
    assert inds == [(sid, p, f"指标{p}", 10.0, 8.0, "ok", None) for sid in range(1, n + 1) for p in range(2 if sid <= 954 else 3)]
    assert finds == [(sid, "missing-deviation-note", "warning", "m", "{}") for sid in range(1, n + 1)]


def test_a_password_in_the_address_is_never_shown(pg_server, tmp_path):
    """A PostgreSQL address with a password: batch's summary and compare's 'no results yet' show it as ***."""
    from typer.testing import CliRunner

    from evaluator.cli import app
    from evaluator.synth import synth_province

    url = pg_server.create_database("password_shown").replace("postgres@", "postgres:s3cret@")
    empty = CliRunner().invoke(app, ["compare", "--db", url, "-o", str(tmp_path / "o")])
    assert empty.exit_code == 1 and "数据库中还没有评分结果" in empty.output
    synth_province(tmp_path / "p", departments=2, seed=1, tables=1, indicators=3)
    stored = CliRunner().invoke(app, ["batch", str(tmp_path / "p"), "--db", url])
    assert stored.exit_code == 0 and "结果存入" in stored.output
    year = CliRunner().invoke(app, ["compare", "--db", url, "--year", "1999", "-o", str(tmp_path / "o")])
    assert year.exit_code == 1 and "1999 年度" in year.output
    for out in (empty.output, stored.output, year.output):
        assert "s3cret" not in out and "postgres:***@" in out, out


@pytest.mark.parametrize("address", ["postgresql+psycopg://u:s3cret@h:notaport/x", "pg sql://u:s3cret@h/x",
                                     "u:s3cret@h"])
def test_an_address_that_cannot_be_read_is_named_without_its_password(address, tmp_path):
    from typer.testing import CliRunner

    from evaluator.cli import app

    out = CliRunner().invoke(app, ["compare", "--db", address, "-o", str(tmp_path / "o")])
    assert out.exit_code == 1 and "数据库地址无法识别" in out.output and "Traceback" not in out.output
    assert "s3cret" not in out.output and "u:***@" in out.output
