"""An example page module, as "beyond" will add what-if or monitoring pages: one context function, an HTML route
rendering it with a template, an /api/ route returning it, the permission asked first."""
from __future__ import annotations

from fastapi import Depends, Request

from evaluator.web import workflow as wf
from evaluator.web.pages import clean, user_info
from evaluator.web.permissions import User


def context(store, user: User, fid: int) -> dict:
    f = wf.filing(store, user, fid)  # asks allowed(user, "view", unit): another unit's filing is not found
    return clean({"user": user_info(user), "title": f"{f['unit']} 的示例页", "message": f["state"]})


def routes(app, web) -> None:
    @app.get("/filings/{fid}/example", include_in_schema=False)
    def page(request: Request, fid: int, user: User = Depends(web.page_user)):
        return web.render(request, "error.html", {**context(web.store, user, fid), "status": 200})

    @app.get("/api/filings/{fid}/example")
    def api(fid: int, user: User = Depends(web.api_user)) -> dict:
        return context(web.store, user, fid)
