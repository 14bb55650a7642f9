"""Helpers for the web tests: a store with units, accounts and a task; a logged-in test client."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx

from fastapi.testclient import TestClient

from evaluator.store import Store
from evaluator.web import auth, create_app
from evaluator.web import workflow as wf

PASSWORD = "test-password-1"
ACCOUNTS = [  # username, role, unit
    ("bureau", "bureau", None), ("bureau2", "bureau", None), ("admin", "admin", None),
    ("clerk-a", "clerk", "甲单位"), ("head-a", "head", "甲单位"),
    ("clerk-b", "clerk", "乙单位"), ("head-b", "head", "乙单位"),
    ("clerk-c", "clerk", "丙单位"),
    ("super-s", "supervisor", "主管部门S"), ("super-t", "supervisor", "主管部门T"),
]


@dataclass
class World:
    store: Store
    users: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    task: int = 0
    filings: dict = field(default_factory=dict)  # unit name → filing id

    def client(self, username: str | None = None) -> "Client":
        c = Client(create_app(store=self.store))
        if username:
            c.login(username)
        return c


class Client(TestClient):
    csrf: str = ""

    def login(self, username: str, password: str = PASSWORD) -> "Client":
        r = self.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
        r = self.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                      "next": "/home"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        home = self.get("/home")
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
        return self

    def form(self, url: str, data: dict | None = None, files=None, **kw):
        return self.post(url, data={"csrf_token": self.csrf, **(data or {})}, files=files, follow_redirects=False,
                         **kw)


def build_world(url: str) -> World:
    """Units 甲 and 乙 under 主管部门S, 丙 under T; the accounts above; a 2023 task over 甲, 乙, 丙."""
    store = Store(url)
    w = World(store)
    for name, parent in (("甲单位", "主管部门S"), ("乙单位", "主管部门S"), ("丙单位", "主管部门T")):
        w.units[name] = wf.add_unit(store, name, parent)
    for name in ("主管部门S", "主管部门T"):
        w.units[name] = next(u["id"] for u in wf.list_units(store) if u["name"] == name)
    for username, role, unit in ACCOUNTS:
        w.users[username] = auth.add_user(store, username, PASSWORD, role, unit, f"{username}的姓名")
    w.task = wf.create_task(store, w.users["bureau"], 2023, "2023 年度绩效自评", "mof-2020", "2024-03-31",
                            [w.units[n] for n in ("甲单位", "乙单位", "丙单位")])
    w.filings = {r["unit"]: r["id"] for r in wf.task_filings(store, w.task)}
    return w


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, tries: int = 600) -> None:
    """Until a server on 127.0.0.1:port answers its login page (start-up is slow on a loaded machine)."""
    for _ in range(tries):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"no server answered on port {port}")


def serve(url: str, port: int, cwd) -> subprocess.Popen:
    """The app under uvicorn in its own process, on 127.0.0.1:port over the database ``url``."""
    env = {**os.environ, "EVALUATOR_DB": url}
    return subprocess.Popen([sys.executable, "-W", "error", "-m", "uvicorn", "evaluator.web.asgi:app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
