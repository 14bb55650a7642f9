"""The bundled demo for ``make serve``: a bureau, the seed unit's clerk and head, a few synthetic units under a
主管部门, and a 2023 task already issued — the seed unit's targets and example actuals in place, two synthetic
units already submitted so the bureau's comparison has something to show.

Every demo account has the password DEMO_PASSWORD; it is for trying the application on one machine only.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from ..store import Store
from . import auth
from . import workflow as wf
from .permissions import User

DEMO_PASSWORD = "demo-2023"
ROOT = Path(__file__).resolve().parents[2]
SEED = "石峰区政协"
SUPERVISOR = "示例主管部门"

ACCOUNTS = [  # username, name, role, unit
    ("bureau", "财政局绩效科", "bureau", None),
    ("admin", "系统管理员", "admin", None),
    ("shifeng-clerk", "石峰区政协填报人", "clerk", SEED),
    ("shifeng-head", "石峰区政协负责人", "head", SEED),
    ("supervisor", "示例主管部门", "supervisor", SUPERVISOR),
]


def seed_demo(store: Store, departments: int = 3) -> dict[str, int]:
    """Fill an empty store with the demo (does nothing when it already has accounts)."""
    from ..load import load_actuals, load_targets
    from ..synth import synth_province

    if auth.list_users(store):
        return {"users": 0}
    wf.add_unit(store, SEED)
    with tempfile.TemporaryDirectory(prefix="evaluator-demo-") as folder:
        synth_province(Path(folder), departments, 7, 2023, 2, 8, 1)
        found = sorted(Path(folder).rglob("targets.*"))
        synthetic = []
        for t in found:
            a = next(iter(sorted(t.parent.glob("actuals.*"))), None)
            try:
                targets, actuals = load_targets(t), load_actuals(a) if a else None
            except Exception:  # noqa: BLE001 - synth breaks some files on purpose; the demo skips them
                continue
            if actuals is not None:
                synthetic.append((targets, actuals))
        for targets, _ in synthetic:
            wf.add_unit(store, targets.unit_name, SUPERVISOR)
    users = {}
    for username, name, role, unit in ACCOUNTS:
        users[username] = auth.add_user(store, username, DEMO_PASSWORD, role, unit, name)
    for k, (targets, _) in enumerate(synthetic, start=1):
        users[f"unit{k}-clerk"] = auth.add_user(store, f"unit{k}-clerk", DEMO_PASSWORD, "clerk", targets.unit_name,
                                                f"{targets.unit_name}填报人")
        users[f"unit{k}-head"] = auth.add_user(store, f"unit{k}-head", DEMO_PASSWORD, "head", targets.unit_name,
                                               f"{targets.unit_name}负责人")
    unit_ids = {u["name"]: u["id"] for u in wf.list_units(store)}
    names = [SEED] + [t.unit_name for t, _ in synthetic]
    task_id = wf.create_task(store, users["bureau"], 2023, "2023 年度预算绩效自评", "mof-2020", "2024-03-31",
                             [unit_ids[n] for n in names])
    fid = {r["unit"]: r["id"] for r in wf.task_filings(store, task_id)}
    # the seed unit: its targets and the bundled example actuals, as if the clerk had uploaded them
    _fill(store, users["shifeng-clerk"], fid[SEED], load_targets(ROOT / "data/targets/shifeng-cppcc-2023.yaml"),
          load_actuals(ROOT / "data/actuals/shifeng-cppcc-2023.yaml"),
          (ROOT / "data/actuals/shifeng-cppcc-2023.yaml").read_bytes(), "shifeng-cppcc-2023.yaml（示例数据）")
    for k, (targets, actuals) in enumerate(synthetic, start=1):
        if k == len(synthetic):
            break  # the last synthetic unit has not started
        f = fid[targets.unit_name]
        _fill(store, users[f"unit{k}-clerk"], f, targets, actuals, actuals.model_dump_json().encode(), "actuals.json")
        wf.submit(store, users[f"unit{k}-head"], f)
    return {"users": len(users), "units": len(names), "task": task_id}


def _fill(store: Store, clerk: User, filing_id: int, targets, actuals, content: bytes, name: str) -> None:
    wf.set_targets(store, clerk, filing_id, targets, None, detail="示例目标表")
    fresh = wf.filing(store, clerk, filing_id, "edit")["targets_set"]
    uid = wf.add_upload(store, clerk, filing_id, "workbook", name, content, "ok", "示例数据")
    wf.save_entries(store, clerk, filing_id, wf.entries_from_actuals(fresh, actuals), "upload", uid)
