"""The steering routes: a user's decisions on a running task (plan approval here).

``POST tasks/{id}/plan/approve {"plan": [steps]?}`` approves the plan the task waits on (status
``awaiting_approval``), as proposed or as edited; ``POST tasks/{id}/plan/reject {"feedback": "..."}``
sends it back to the planner. Both are behind jupyter_server's auth and the ``cmbagent`` resource
(``write``); a bad body is a 400 naming the problem, an unknown task a 404, a task with no plan
waiting a 409. The decision becomes a ``plan_decision`` event of the task (its log, its sidecar,
every follower), made by the task's supervisor. Other steering routes (fork, compare, export) live
beside these in modules of their own.
"""

from __future__ import annotations

from typing import Any, Final

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import ConfigError, TaskConflict
from ..plans import check_feedback, check_plan
from ._base import BaseHandler, json_errors

__all__ = ["PLAN_ACTION", "PlanDecisionHandler"]

#: The route pattern of the decision (``approve`` or ``reject``).
PLAN_ACTION: Final = "(?P<action>approve|reject)"
#: The body keys each decision takes (anything else is a 400: a misspelt key never goes unnoticed).
_KEYS: Final = {"approve": frozenset({"plan"}), "reject": frozenset({"feedback"})}


class PlanDecisionHandler(BaseHandler):
    """``POST tasks/{id}/plan/approve|reject``: answer the plan the task waits on."""

    @web.authenticated
    @authorized
    @json_errors
    async def post(self, task_id: str, action: str) -> None:
        body = self.body()
        unknown = sorted(set(body) - _KEYS[action])
        if unknown:
            allowed = ", ".join(sorted(_KEYS[action]))
            raise ConfigError(f"plan/{action} takes only {allowed!r}, not {', '.join(map(repr, unknown))}")
        entry = self.registry.get(task_id)
        if entry.done or not (entry.state.plan or {}).get("request_id"):
            raise TaskConflict(f"task {task_id!r} has no plan awaiting approval")
        reply: dict[str, Any] = {"task_id": task_id, "approved": action == "approve"}
        if action == "approve":
            plan = body.get("plan")
            await entry.run.approve(None if plan is None else check_plan(plan))
        else:
            await entry.run.reject(check_feedback(body.get("feedback")))
        self.reply({**reply, "plan": entry.state.plan}, status=202)
