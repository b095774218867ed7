"""Every route refuses unauthenticated, wrongly authenticated, unauthorized and cross-origin calls."""

from __future__ import annotations

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError

ROUTES = [
    ("GET", ("status",)),
    ("GET", ("tasks",)),
    ("POST", ("tasks",)),
    ("GET", ("tasks", "{task}")),
    ("DELETE", ("tasks", "{task}")),
    ("POST", ("tasks", "{task}", "input")),
    ("POST", ("tasks", "{task}", "plan", "approve")),
    ("POST", ("tasks", "{task}", "plan", "reject")),
    ("GET", ("sessions",)),
    ("GET", ("sessions", "{session}")),
    ("POST", ("sessions", "{session}", "resume")),
    ("POST", ("sessions", "{session}", "fork")),
    ("GET", ("tasks", "{task}", "files")),
    ("GET", ("tasks", "{task}", "files", "data", "x.csv")),
    ("GET", ("sessions", "{session}", "files")),
    ("GET", ("sessions", "{session}", "files", "data", "x.csv")),
    ("GET", ("compare",)),
    ("GET", ("sessions", "{session}", "export")),
    ("GET", ("sessions", "{session}", "cost")),
]
SOCKETS = [("tasks", "{task}", "events"), ("updates",)]
BAD_AUTH = {"no token": {"Authorization": ""}, "wrong token": {"Authorization": "token not-the-token"}}


class DenyCmbagent(Authorizer):
    """Allows everything but the ``cmbagent`` resource: proves each route is ``@authorized``."""

    def is_authorized(self, handler, user, action, resource):
        return resource != "cmbagent"


@pytest.fixture
async def ids(api, registry):
    """A real task and session, so that refusals cannot be 404s in disguise."""
    registry_task = await registry.submit("result = 1", {"engine": "python", "session_id": "s-auth"})
    await api.wait(registry_task.task_id)
    return {"task": registry_task.task_id, "session": "s-auth"}


def _path(parts, ids):
    return [part.format(**ids) for part in parts]


async def _code(fetch, method, path, headers):
    body = '{"task": "result = 1", "config": {"engine": "python"}}' if method == "POST" else None
    try:
        response = await fetch("cmbagent", "api", *path, method=method, body=body, headers=dict(headers))
    except HTTPClientError as exc:
        return exc.code
    return response.code


@pytest.mark.parametrize("how", list(BAD_AUTH))
async def test_every_route_refuses_bad_credentials(jp_fetch, jp_ws_fetch, ids, registry, how):
    before = set(registry.tasks)
    for method, parts in ROUTES:
        assert await _code(jp_fetch, method, _path(parts, ids), BAD_AUTH[how]) == 403, (how, method, parts)
    for parts in SOCKETS:
        with pytest.raises(HTTPClientError) as info:
            await jp_ws_fetch("cmbagent", "api", *_path(parts, ids), headers=dict(BAD_AUTH[how]))
        assert info.value.code == 403, (how, parts)
    assert set(registry.tasks) == before  # nothing was submitted or resumed


@pytest.fixture
async def cookie(jp_fetch, jp_http_port, ids):
    """A browser's login cookie (set by jupyter_server on a token-authenticated request).

    Browsers authenticate with it, and it is what a foreign page could abuse: a token in the header
    or URL proves the caller is no cross-site page, so jupyter_server skips the Origin check for
    those, and these tests use the cookie alone.
    """
    response = await jp_fetch("cmbagent", "api", "status", headers={"Host": f"localhost:{jp_http_port}"})
    value = "; ".join(c.split(";", 1)[0] for c in response.headers.get_list("Set-Cookie"))
    assert value, "the token-authenticated request should have set the login cookie"
    return value


async def test_sockets_refuse_cross_origin_upgrades(jp_ws_fetch, jp_http_port, ids, cookie):
    browser = {"Authorization": "", "Cookie": cookie, "Host": f"localhost:{jp_http_port}"}
    for parts in SOCKETS:
        with pytest.raises(HTTPClientError) as info:
            await jp_ws_fetch(
                "cmbagent", "api", *_path(parts, ids), headers={**browser, "Origin": "http://evil.example"}
            )
        assert info.value.code == 403, parts
        same = await jp_ws_fetch(
            "cmbagent",
            "api",
            *_path(parts, ids),
            headers={**browser, "Origin": f"http://localhost:{jp_http_port}"},
        )
        same.close()


async def test_rest_refuses_cross_origin_and_unprotected_writes(jp_fetch, jp_http_port, ids, cookie):
    browser = {"Authorization": "", "Cookie": cookie, "Host": f"localhost:{jp_http_port}"}
    assert await _code(jp_fetch, "GET", ["tasks"], browser) == 200  # the cookie is valid
    # a foreign page: jupyter_server's APIHandler answers 404
    assert await _code(jp_fetch, "GET", ["tasks"], {**browser, "Origin": "http://evil.example"}) == 404
    # a write with the cookie but without the XSRF token: refused
    for method, parts in ROUTES:
        if method != "GET":
            assert await _code(jp_fetch, method, _path(parts, ids), browser) == 403, (method, parts)


@pytest.fixture
def deny_config(sessions_dir):
    return {
        "ServerApp": {"jpserver_extensions": {"cmbjupyter.server": True}, "authorizer_class": DenyCmbagent},
        "CmbJupyter": {"sessions_dir": str(sessions_dir)},
    }


class TestAuthorizer:
    @pytest.fixture
    def jp_server_config(self, deny_config):
        return deny_config

    async def test_an_authorizer_without_cmbagent_rights_is_refused_everywhere(self, jp_fetch, jp_ws_fetch):
        ids = {"task": "any", "session": "any"}
        assert (await jp_fetch("api", "status")).code == 200  # authenticated fine, other resources allowed
        for method, parts in ROUTES:
            assert await _code(jp_fetch, method, _path(parts, ids), {}) == 403, (method, parts)
        for parts in SOCKETS:
            with pytest.raises(HTTPClientError) as info:
                await jp_ws_fetch("cmbagent", "api", *_path(parts, ids))
            assert info.value.code == 403, parts
