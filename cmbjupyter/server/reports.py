"""REST reports made from saved sessions: compare two, export one as a notebook, its cost ledger.

``GET compare?a=A&b=B``                  the comparison document (``docs/reports.md``, version 1)
``GET sessions/{id}/export``             the session as a notebook (``.ipynb``, a download)
``GET sessions/{id}/cost?format=csv``    the cost ledger, one row per LLM call (``csv`` or ``json``)

Every route is behind jupyter_server's auth and the ``cmbagent`` resource (``read``), like the rest
of the API; an unknown session is 404, a bad query 400. Sidecars, event logs and the run's files
are read in a worker thread, never on the server's event loop.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..compare import compare
from ..errors import ConfigError
from ..export import export_notebook
from ..ledger import ledger_csv, ledger_json
from ..runrecord import RunRecord
from ._base import BaseHandler, json_errors

__all__ = ["CompareHandler", "SessionCostHandler", "SessionExportHandler"]


def _download(handler: BaseHandler, body: str, content_type: str, filename: str) -> None:
    handler.set_header("Content-Disposition", f'attachment; filename="{filename}"')
    handler.finish(body, set_content_type=content_type)  # APIHandler's way to answer other than JSON


class CompareHandler(BaseHandler):
    """``GET compare?a=A&b=B``: what changed from session A to session B."""

    @web.authenticated
    @authorized
    @json_errors
    async def get(self) -> None:
        a, b = self.get_argument("a", ""), self.get_argument("b", "")
        if not a or not b:
            raise ConfigError("compare needs two sessions: ?a=SESSION&b=SESSION")
        sessions = self.registry.sessions

        def make() -> dict[str, Any]:
            return compare(RunRecord.load(sessions, a), RunRecord.load(sessions, b))

        self.reply(await asyncio.to_thread(make))


class SessionExportHandler(BaseHandler):
    """``GET sessions/{id}/export``: the session as a runnable notebook, downloaded as ``{id}.ipynb``."""

    @web.authenticated
    @authorized
    @json_errors
    async def get(self, session_id: str) -> None:
        sessions = self.registry.sessions

        def make() -> str:
            return json.dumps(export_notebook(RunRecord.load(sessions, session_id)), indent=1)

        body = await asyncio.to_thread(make)
        _download(self, body, "application/x-ipynb+json", f"{session_id}.ipynb")


class SessionCostHandler(BaseHandler):
    """``GET sessions/{id}/cost?format=json|csv``: the cost ledger (JSON by default; CSV downloads)."""

    @web.authenticated
    @authorized
    @json_errors
    async def get(self, session_id: str) -> None:
        kind = self.get_argument("format", "json")
        if kind not in ("json", "csv"):
            raise ConfigError(f"'format' must be 'json' or 'csv', not {kind[:40]!r}")
        record = await asyncio.to_thread(RunRecord.load, self.registry.sessions, session_id)
        if kind == "json":
            self.reply(await asyncio.to_thread(ledger_json, record))
            return
        body = await asyncio.to_thread(ledger_csv, record)
        _download(self, body, "text/csv; charset=utf-8", f"{session_id}-cost.csv")
