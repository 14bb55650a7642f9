"""The web application (``evaluator serve``): the 自评 workflow for clerks, heads, 主管部门 and the bureau.

``app`` (routes, rendering, sessions) · ``pages`` (one context per page) · ``workflow`` (tasks, filings,
entries, audit trail in the store) · ``auth`` (accounts, sessions, throttling) · ``permissions`` (``allowed``) ·
``demo`` (the bundled demo) · ``templates/`` and ``static/`` (htmx, vendored).

New pages (what-if, 目标审核, monitoring) go in their own module with ``routes(app, web)``, listed in
``app.EXTENSIONS``; ``tests/web_extension_example.py`` shows the pattern.
"""
from .app import create_app
from .permissions import allowed

__all__ = ["create_app", "allowed"]
