"""Accounts, sessions and login throttling, kept in the store so every app process sees the same.

Passwords are hashed with argon2 (pwdlib). A session is a random token: the browser holds it signed (the cookie),
the store holds its SHA-256 with the session's CSRF token, expiry and last use, so logging out or an expiry ends it
in every process at once, and logging in always starts a new one (no session fixation). API clients send a
token of their own (``Authorization: Bearer …``), made by ``evaluator users token``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from ..errors import EvaluatorError
from ..schema import api_tokens, login_attempts, meta, sessions, units, users
from ..store import Store, now
from .permissions import Role, User

__all__ = ["hash_password", "verify_password", "add_user", "find_user", "list_users", "set_password",
           "set_active", "login", "session_user", "end_session", "new_api_token", "token_user", "secret_key",
           "Throttled", "SESSION_IDLE", "SESSION_MAX", "MAX_FAILURES", "FAILURE_WINDOW"]

SESSION_IDLE = dt.timedelta(minutes=30)  # a session unused this long has expired
SESSION_MAX = dt.timedelta(hours=12)  # and none lives longer than this
MAX_FAILURES = 5  # failed logins of one account within FAILURE_WINDOW before it is locked for the window
MAX_IP_FAILURES = 20  # failed logins from one address within the window
FAILURE_WINDOW = dt.timedelta(minutes=15)
MIN_PASSWORD = 8

_hasher = None


def _password_hash():
    global _hasher
    if _hasher is None:
        from pwdlib import PasswordHash

        _hasher = PasswordHash.recommended()  # argon2id
    return _hasher


def hash_password(password: str) -> str:
    return _password_hash().hash(password)


def verify_password(password: str, hashed: str) -> bool:
    try:
        return _password_hash().verify(password, hashed)
    except Exception:  # noqa: BLE001 - a malformed hash is a failed login, never a crash
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


def _now() -> dt.datetime:
    return dt.datetime.fromisoformat(now())


def secret_key(store: Store) -> str:
    """The key that signs cookies: $EVALUATOR_SECRET, else one made on first use and kept in the store (so every
    app process on the database signs alike)."""
    import os

    if os.environ.get("EVALUATOR_SECRET"):
        return os.environ["EVALUATOR_SECRET"]
    with store.engine.connect() as conn:
        row = conn.execute(select(meta.c.value).where(meta.c.key == "web_secret")).first()
    if row:
        return row[0]
    with store.writing() as conn:
        store.lock(conn)
        row = conn.execute(select(meta.c.value).where(meta.c.key == "web_secret")).first()
        if row:
            return row[0]
        key = secrets.token_urlsafe(48)
        conn.execute(insert(meta).values(key="web_secret", value=key))
    return key


# --------------------------------------------------------------------------- accounts
def _user(row: Any) -> User:
    return User(id=row.id, username=row.username, role=Role(row.role), unit_id=row.unit_id, name=row.name)


def add_user(store: Store, username: str, password: str, role: str, unit: str | None = None,
             name: str | None = None) -> User:
    """A new account. Clerks, heads and 主管部门 users belong to a unit; bureau and admin accounts to none."""
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise EvaluatorError("用户名不能为空、不能含空格，最长 64 个字符", where=username or "（空）")
    try:
        r = Role(role)
    except ValueError:
        raise EvaluatorError(f"未知的角色“{role}”", hint="可选：clerk（单位填报人）、head（单位负责人）、"
                                                      "supervisor（主管部门）、bureau（财政局）、admin（管理员）") from None
    if len(password) < MIN_PASSWORD:
        raise EvaluatorError(f"密码至少 {MIN_PASSWORD} 个字符", where=username)
    unit_id = None
    if r in (Role.CLERK, Role.HEAD, Role.SUPERVISOR):
        if not unit:
            raise EvaluatorError("单位填报人、单位负责人和主管部门的账号须指定单位", where=username, hint="加 --unit 单位名称")
        with store.engine.connect() as conn:
            unit_id = conn.execute(select(units.c.id).where(units.c.name == unit.strip())).scalar()
        if unit_id is None:
            raise EvaluatorError(f"单位“{unit}”不存在", where=username, hint="请先用 evaluator units import 导入单位")
    elif unit:
        raise EvaluatorError("财政局和管理员的账号不属于某个单位", where=username, hint="去掉 --unit")
    hashed = hash_password(password)
    with store.writing() as conn:
        if conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise EvaluatorError(f"用户名“{username}”已存在", hint="换一个用户名，或用 evaluator users passwd 修改密码")
        uid = conn.execute(insert(users).values(username=username, name=name, role=r.value, unit_id=unit_id,
                                                password_hash=hashed, active=1, created_at=now())
                           .returning(users.c.id)).scalar_one()
    return User(id=uid, username=username, role=r, unit_id=unit_id, name=name)


def find_user(store: Store, user_id: int) -> User | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id, users.c.active == 1)).first()
    return _user(row) if row else None


def list_users(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(users.c.id, users.c.username, users.c.name, users.c.role, users.c.active, users.c.created_at,
                   units.c.name.label("unit")).select_from(users.outerjoin(units, units.c.id == users.c.unit_id))
            .order_by(users.c.id))]


def _user_id(conn, username: str) -> int:
    uid = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
    if uid is None:
        raise EvaluatorError(f"用户“{username}”不存在", hint="evaluator users list 列出全部账号")
    return uid


def set_password(store: Store, username: str, password: str) -> None:
    """A new password; the account's sessions end (whoever knew the old one is logged out)."""
    if len(password) < MIN_PASSWORD:
        raise EvaluatorError(f"密码至少 {MIN_PASSWORD} 个字符", where=username)
    hashed = hash_password(password)
    with store.writing() as conn:
        uid = _user_id(conn, username)
        conn.execute(update(users).where(users.c.id == uid).values(password_hash=hashed))
        conn.execute(update(sessions).where(sessions.c.user_id == uid).values(revoked=1))


def set_active(store: Store, username: str, active: bool) -> None:
    with store.writing() as conn:
        uid = _user_id(conn, username)
        conn.execute(update(users).where(users.c.id == uid).values(active=int(active)))
        if not active:
            conn.execute(update(sessions).where(sessions.c.user_id == uid).values(revoked=1))
            conn.execute(update(api_tokens).where(api_tokens.c.user_id == uid).values(revoked=1))


# --------------------------------------------------------------------------- logging in
class Throttled(EvaluatorError):
    """Too many failed logins: the account (or the address) waits until the window has passed."""


@dataclass
class Session:
    token: str  # what the cookie carries (signed)
    csrf: str
    user: User


def _failures(conn, since: str, username: str, ip: str | None) -> tuple[int, int]:
    by_user = conn.execute(select(func.count()).select_from(login_attempts).where(
        login_attempts.c.username == username, login_attempts.c.ok == 0, login_attempts.c.at >= since)).scalar()
    by_ip = conn.execute(select(func.count()).select_from(login_attempts).where(
        login_attempts.c.ip == ip, login_attempts.c.ok == 0, login_attempts.c.at >= since)).scalar() if ip else 0
    return by_user, by_ip


def login(store: Store, username: str, password: str, ip: str | None) -> Session | None:
    """Check a password and start a new session; None for a wrong name or password (the same answer for both).

    Raises ``Throttled`` after MAX_FAILURES failures of the account (or MAX_IP_FAILURES from the address) within
    FAILURE_WINDOW — without checking the password, so guessing on gains nothing."""
    username = (username or "").strip()[:64]
    t = _now()
    since = _iso(t - FAILURE_WINDOW)
    with store.engine.connect() as conn:
        by_user, by_ip = _failures(conn, since, username, ip)
        row = conn.execute(select(users).where(users.c.username == username)).first()
    if by_user >= MAX_FAILURES or by_ip >= MAX_IP_FAILURES:
        minutes = int(FAILURE_WINDOW.total_seconds() // 60)
        raise Throttled("登录失败次数过多，已暂时锁定", hint=f"请 {minutes} 分钟后再试，或请管理员重设密码")
    ok = row is not None and row.active == 1 and verify_password(password or "", row.password_hash)
    if row is None:
        verify_password(password or "", _dummy_hash())  # the same time for an unknown name as for a wrong password
    with store.writing() as conn:
        conn.execute(insert(login_attempts).values(username=username, ip=ip, at=_iso(t), ok=int(ok)))
        if not ok:
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        conn.execute(insert(sessions).values(token_hash=_digest(token), user_id=row.id, csrf=csrf, created_at=_iso(t),
                                             expires_at=_iso(t + SESSION_MAX), last_seen=_iso(t), revoked=0))
    return Session(token=token, csrf=csrf, user=_user(row))


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_urlsafe(16)))
    return _DUMMY[0]


def session_user(store: Store, token: str) -> Session | None:
    """The live session of a token, or None (unknown, revoked, expired, idle too long, account disabled).
    Use is recorded at most once a minute, so reading pages does not write on every request."""
    t = _now()
    with store.engine.connect() as conn:
        row = conn.execute(select(sessions, users).join(users, users.c.id == sessions.c.user_id).where(
            sessions.c.token_hash == _digest(token))).first()
    if row is None or row.revoked or row.active != 1 or row.expires_at <= _iso(t) \
            or row.last_seen <= _iso(t - SESSION_IDLE):
        return None
    if row.last_seen <= _iso(t - dt.timedelta(minutes=1)):
        with store.writing() as conn:
            conn.execute(update(sessions).where(sessions.c.token_hash == _digest(token)).values(last_seen=_iso(t)))
    m = row._mapping
    user = User(id=m[users.c.id], username=m[users.c.username], role=Role(m[users.c.role]),
                unit_id=m[users.c.unit_id], name=m[users.c.name])
    return Session(token=token, csrf=m[sessions.c.csrf], user=user)


def end_session(store: Store, token: str) -> None:
    with store.writing() as conn:
        conn.execute(update(sessions).where(sessions.c.token_hash == _digest(token)).values(revoked=1))


def new_api_token(store: Store, username: str, name: str | None = None) -> str:
    """A token for a program (the provincial platform) acting as this account; shown once, stored hashed."""
    token = "ev_" + secrets.token_urlsafe(32)
    with store.writing() as conn:
        uid = _user_id(conn, username)
        conn.execute(insert(api_tokens).values(token_hash=_digest(token), user_id=uid, name=name, created_at=now(),
                                               revoked=0))
    return token


def token_user(store: Store, token: str) -> User | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(users).join(api_tokens, api_tokens.c.user_id == users.c.id).where(
            api_tokens.c.token_hash == _digest(token), api_tokens.c.revoked == 0, users.c.active == 1)).first()
    return _user(row) if row else None
