"""The report routes: ``compare``, ``sessions/{id}/export`` and ``sessions/{id}/cost``, on real runs.

Two python-engine tasks run in the server; the routes must answer exactly what the library makes
from the same session files, refuse bad queries (400) and unknown sessions (404). Auth is checked
for every route in ``test_auth.py``.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from cmbjupyter.compare import compare
from cmbjupyter.ledger import ledger_csv, ledger_json
from cmbjupyter.runrecord import RunRecord
from cmbjupyter.session import SessionManager

TASK = """
step(1)
record_usage('gpt-4o-mini', 100, 10, agent='engineer')
with open('out.txt', 'w') as f:
    f.write('value {value}\\n')
context['value'] = {value}
result = {{'value': {value}}}
"""


@pytest.fixture
async def two_sessions(api, tmp_path):
    for sid, value in (("a", 1), ("b", 2)):
        work = tmp_path / f"work-{sid}"
        work.mkdir()
        task = await api.submit(
            TASK.format(value=value), session_id=sid, mode="control", plan=["write"], work_dir=str(work)
        )
        await api.wait(task["task_id"])
    return ("a", "b")


async def test_compare_answers_the_librarys_document(api, two_sessions, sessions_dir):
    doc = await api.get("compare", a="a", b="b")
    store = SessionManager(sessions_dir)
    assert doc == json.loads(json.dumps(compare(RunRecord.load(store, "a"), RunRecord.load(store, "b"))))
    assert doc["v"] == 1 and doc["context"]["changed"] == {"value": {"a": 1, "b": 2}}
    assert doc["files"][0]["diff"].endswith("-value 1\n+value 2\n")


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"a": "a"}, 400, "compare needs two sessions: ?a=SESSION&b=SESSION"),
        ({"a": "a", "b": "ghost"}, 404, "no session 'ghost'"),
        ({"a": "../a", "b": "b"}, 404, "invalid session id '../a'"),
    ],
)
async def test_compare_refuses_bad_queries(api, two_sessions, params, status, message):
    code, body = await api.call("GET", "compare", params=params)
    assert code == status and body["message"].startswith(message)


async def test_export_downloads_a_notebook(jp_fetch, api, two_sessions, sessions_dir):
    response = await jp_fetch("cmbagent", "api", "sessions", "a", "export")
    assert response.headers["Content-Type"] == "application/x-ipynb+json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="a.ipynb"'
    book = nbformat.reads(response.body.decode(), as_version=4)
    nbformat.validate(book)
    assert book.metadata["cmbagent"]["exported_from"] == "a"
    assert any("f.write('value 1\\n')" in c.source for c in book.cells if c.cell_type == "code")
    code, body = await api.call("GET", "sessions", "ghost", "export")
    assert code == 404 and body["message"].startswith("no session 'ghost'")


async def test_the_cost_ledger_as_json_and_csv(jp_fetch, api, two_sessions, sessions_dir):
    record = RunRecord.load(SessionManager(sessions_dir), "b")
    assert await api.get("sessions", "b", "cost") == json.loads(json.dumps(ledger_json(record)))
    response = await jp_fetch("cmbagent", "api", "sessions", "b", "cost", params={"format": "csv"})
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="b-cost.csv"'
    assert response.body.decode() == ledger_csv(record)
    assert len(response.body.decode().splitlines()) == 2  # the header and the one LLM call
    code, body = await api.call("GET", "sessions", "b", "cost", params={"format": "xml"})
    assert code == 400 and body["message"] == "'format' must be 'json' or 'csv', not 'xml'"
    with pytest.raises(HTTPClientError) as missing:
        await jp_fetch("cmbagent", "api", "sessions", "ghost", "cost")
    assert missing.value.code == 404


async def test_a_kernel_compares_and_exports_the_servers_sessions(
    two_sessions, notebook_kernel, jp_root_dir, sessions_dir
):
    """The sessions are in the server's store, not the kernel's: the kernel asks the server."""
    kernel = await notebook_kernel("reports.ipynb")
    printed = await kernel.execute(
        "%load_ext cmbjupyter\n"
        "doc = %cmbagent compare a b\n"
        "print('V', doc['v'], doc['context']['changed'])\n"
        "%cmbagent export b --to b-record.ipynb"
    )
    assert "V 1 {'value': {'a': 1, 'b': 2}}" in printed and "exported session b to b-record.ipynb" in printed
    book = nbformat.read(jp_root_dir / "b-record.ipynb", as_version=4)
    assert book.metadata["cmbagent"]["exported_from"] == "b"
    missing = await kernel.execute(
        "from IPython.core.error import UsageError\n"
        "try:\n    get_ipython().run_line_magic('cmbagent', 'compare a ghost')\n"
        "except UsageError as exc:\n    print('REFUSED', exc)"
    )
    assert f"REFUSED no session 'ghost' in {sessions_dir}" in missing  # the server's store, named
