"""Shared fixtures: the bundled seed department, rule sets, and small builders for target/actual sets."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the same examples every time (derandomized); `make fuzz` explores at random with many more
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile("ci" if os.environ.get("EVALUATOR_FUZZ") != "1" else "default")

from evaluator import load_actuals, load_rules, load_targets
from evaluator.model import ActualSet, Actual, BudgetExecution, Indicator, TableActuals, TargetSet, TargetTable

ROOT = Path(__file__).resolve().parents[1]
SEED_TARGETS = ROOT / "data" / "targets" / "shifeng-cppcc-2023.yaml"
SEED_ACTUALS = ROOT / "data" / "actuals" / "shifeng-cppcc-2023.yaml"
# ../shared/cases beside the repository, or beside the folder of git worktrees (/work/wt/<name> → /work/shared)
CASES = next((p for p in (ROOT.parent / "shared" / "cases", ROOT.parents[1] / "shared" / "cases") if p.is_dir()),
             ROOT.parent / "shared" / "cases")

# In CI (.ci/run sets EVALUATOR_CI=1) every optional system part is installed, so a skip is a failure.
STRICT = os.environ.get("EVALUATOR_CI") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {report.longrepr}"


def need(ok: bool, what: str, install: str) -> None:
    """Skip (on a user's machine) or fail (in CI) a test whose system part is missing."""
    if not ok:
        pytest.skip(f"{what} is not installed here ({install})")


@pytest.fixture(scope="session")
def soffice() -> str:
    """LibreOffice's soffice, for .doc/.wps conversion and rendering docx/xlsx."""
    path = shutil.which("soffice") or shutil.which("libreoffice")
    need(path is not None, "LibreOffice", "apt-get install libreoffice-core libreoffice-writer libreoffice-calc")
    return path


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    need(path is not None, "Chromium", "apt-get install chromium fonts-noto-cjk")
    return path


@pytest.fixture(scope="session")
def pdftoppm() -> str:
    path = shutil.which("pdftoppm")
    need(path is not None, "poppler-utils (pdftoppm)", "apt-get install poppler-utils")
    return path


@pytest.fixture(scope="session")
def mof():
    return load_rules("mof-2020")


@pytest.fixture(scope="session")
def platform():
    return load_rules("provincial-platform-2022")


@pytest.fixture(scope="session")
def seed_targets():
    return load_targets(SEED_TARGETS)


@pytest.fixture(scope="session")
def seed_actuals():
    return load_actuals(SEED_ACTUALS)


def one_table(rows: list[tuple], *, budget: float | None = 100.0, spent: float | None = 100.0, year: int = 2023
              ) -> tuple[TargetSet, ActualSet]:
    """Build a one-table department from (level1, level2, level3, target, actual[, weight[, extra actual fields]]) rows."""
    indicators, actuals = [], []
    for row in rows:
        l1, l2, l3, target, actual, *rest = row
        weight = rest[0] if rest else None
        extra = rest[1] if len(rest) > 1 else {}
        indicators.append(Indicator(level1=l1, level2=l2, level3=l3, target=target, weight=weight,
                                    **{k: v for k, v in extra.items() if k in ("direction", "scoring", "rate_base", "unit")}))
        actuals.append(Actual(indicator=l3, level2=l2, actual=actual,
                              **{k: v for k, v in extra.items() if k in ("band", "judged_score", "claimed_score",
                                                                         "deviation_note")}))
    table = TargetTable(id="t", kind="项目", title="测试表", unit_name="测试单位", year=year, indicators=indicators)
    ex = BudgetExecution(budget=budget, spent=spent) if budget is not None else None
    return (TargetSet(unit_name="测试单位", year=year, tables=[table]),
            ActualSet(unit_name="测试单位", year=year, tables=[TableActuals(table="t", budget=ex, indicators=actuals)]))


# ------------------------------------------------------------------ databases: SQLite and a real PostgreSQL server
@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server started for this test session (initdb + pg_ctl, 127.0.0.1 only), stopped at the end."""
    from tests import pgserver

    try:
        import psycopg  # noqa: F401
    except ImportError:
        need(False, "psycopg (PostgreSQL driver)", "pip install 'evaluator[postgres]'")
    need(pgserver.pg_bin() is not None, "PostgreSQL (initdb, pg_ctl)", "apt-get install postgresql")
    try:
        server = pgserver.start()
    except RuntimeError as e:
        need(False, f"a PostgreSQL server that starts ({e})", "apt-get install postgresql")
    yield server
    server.stop()


_databases = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A new, empty database on SQLite and on the session's PostgreSQL server: every test using it runs on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'evaluator.db'}"
    server = request.getfixturevalue("pg_server")
    return server.create_database(f"t{next(_databases)}")
