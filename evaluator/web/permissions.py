"""Who may do what to which unit: the one permission question every route and download asks.

``allowed(user, action, unit)`` looks only at the user's role and unit and the unit's place under its 主管部门;
whether an action fits the filing's current state (a submitted filing cannot be edited) is the workflow's
question, asked after this one.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Role", "ROLE_LABEL", "ACTIONS", "User", "Unit", "allowed"]


class Role(StrEnum):
    CLERK = "clerk"  # 单位填报人: fills in its unit's 自评
    HEAD = "head"  # 单位负责人: approves and submits its unit's 自评
    SUPERVISOR = "supervisor"  # 主管部门: sees and returns the units under it
    BUREAU = "bureau"  # 财政局: sees all, issues tasks, runs 复核
    ADMIN = "admin"  # 管理员: accounts and units, no filings


ROLE_LABEL = {Role.CLERK: "单位填报人", Role.HEAD: "单位负责人", Role.SUPERVISOR: "主管部门", Role.BUREAU: "财政局",
              Role.ADMIN: "管理员"}

# action → what it means; unit actions are asked with the filing's unit, the others with unit=None
ACTIONS = {
    "view": "查看单位的自评（目标、填报、得分、问题、文件、历史）",
    "edit": "填报：上传目标表或填报表、录入实际完成值",
    "ready": "填报完成，提交单位负责人审核",
    "submit": "审核通过并送审（单位负责人）",
    "send-back": "退给填报人修改（单位负责人）",
    "return": "退回已送审的自评（主管部门、财政局）",
    "review": "复核一个单位：录入复核得分、复核完成",
    "sample": "抽取复核样本、分配复核人",
    "issue": "发布自评任务",
    "compare": "查看各单位对比",
    "audit": "导出全部审计记录",
    "manage": "管理账号和单位",
}
UNIT_ACTIONS = {"view", "edit", "ready", "submit", "send-back", "return", "review"}


@dataclass(frozen=True)
class Unit:
    id: int
    name: str
    parent_id: int | None = None  # its 主管部门


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    unit_id: int | None = None
    name: str | None = None


def allowed(user: User | None, action: str, unit: Unit | None = None) -> bool:
    """May ``user`` do ``action`` (one of ACTIONS) to ``unit``? Unknown actions and missing users are refused."""
    if user is None or action not in ACTIONS:
        return False
    if (action in UNIT_ACTIONS) != (unit is not None):  # unit actions need a unit, the others take none
        return False
    role = user.role
    if role == Role.ADMIN:
        return action == "manage"
    if role == Role.BUREAU:
        return action != "manage" and action not in ("edit", "ready", "submit", "send-back")
    if role == Role.SUPERVISOR:
        under = unit is not None and user.unit_id is not None and user.unit_id in (unit.id, unit.parent_id)
        return under and action in ("view", "return")
    own = unit is not None and user.unit_id is not None and unit.id == user.unit_id
    if role == Role.CLERK:
        return own and action in ("view", "edit", "ready")
    if role == Role.HEAD:
        return own and action in ("view", "submit", "send-back")
    return False
