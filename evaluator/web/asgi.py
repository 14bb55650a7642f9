"""The ASGI application for uvicorn (``evaluator.web.asgi:app``), on the database named by $EVALUATOR_DB.

``evaluator serve`` sets it; a deployment runs e.g.
``EVALUATOR_DB=postgresql+psycopg://… uvicorn evaluator.web.asgi:app --workers 4``.
"""
import os

from ..store import default_url
from .app import create_app

app = create_app(os.environ.get("EVALUATOR_DB") or default_url())
