"""Finding any saved session: ``GET sessions?q=WORDS`` filters the listing on the server by session
id, task text and mode (every word, case-insensitive), paged like the listing; a bad ``q`` is a
clear 400, and the route is as closed to bad credentials as the listing (the sidebar's Compare
picker searches with it: tests/browser/test_sidebar_compare.py)."""

from __future__ import annotations

import pytest
from tornado.httpclient import HTTPClientError

from cmbjupyter.session import SessionManager


@pytest.fixture
def saved(sessions_dir):
    """Sessions on disk: 30 planck fits (one-shot), 5 lensing runs (planning-control), 1 other."""
    manager = SessionManager(sessions_dir)
    for i in range(30):
        task = f"Fit the Planck TT spectrum, seed {i}"
        manager.save_session_state(f"fit-{i:02d}", task=task, mode="one-shot")
    for i in range(5):
        manager.save_session_state(f"lens-{i}", task="Reconstruct CMB Lensing", mode="planning-control")
    manager.save_session_state("odd-one", task="Something else", mode="one-shot")
    return manager


def _ids(page):
    return [s["session_id"] for s in page["sessions"]]


async def test_q_filters_by_session_id_task_text_and_mode(api, saved):
    everything = _ids(await api.get("sessions"))
    lens = await api.get("sessions", q="LENSING")  # task text, any case
    assert sorted(_ids(lens)) == [f"lens-{i}" for i in range(5)] and lens["total"] == 5
    assert lens["q"] == "LENSING"
    assert _ids(await api.get("sessions", q="odd-one")) == ["odd-one"]  # session id
    by_mode = await api.get("sessions", q="planning-control")
    assert sorted(_ids(by_mode)) == [f"lens-{i}" for i in range(5)]
    every = await api.get("sessions", q="One-Shot  planck fit-07")  # every word: mode, task, id
    assert _ids(every) == ["fit-07"]
    assert _ids(await api.get("sessions", q="planning-control planck")) == []
    assert (await api.get("sessions", q="no such thing")) == {
        "sessions": [],
        "total": 0,
        "offset": 0,
        "limit": None,
        "q": "no such thing",
    }
    # in the listing's order (newest first), the rows the listing has
    fits = [i for i in everything if i.startswith("fit-")]
    assert _ids(await api.get("sessions", q="planck")) == fits


async def test_a_search_is_paged_like_the_listing(api, saved):
    fits = _ids(await api.get("sessions", q="planck"))
    assert len(fits) == 30
    page = await api.get("sessions", q="planck", limit="10", offset="25")
    assert _ids(page) == fits[25:] and page["total"] == 30
    assert (page["offset"], page["limit"]) == (25, 10)


@pytest.mark.parametrize(
    ("q", "says"),
    [
        ("", "blank"),
        ("   ", "blank"),
        ("x" * 201, "at most 200 characters"),
        ("fit\n", "printable"),
        ("fit\x01", "printable"),
    ],
)
async def test_a_bad_q_is_a_clear_400(api, saved, q, says):
    code, body = await api.call("GET", "sessions", params={"q": q})
    assert code == 400 and "'q'" in body["message"] and says in body["message"], body


async def test_a_search_refuses_bad_credentials(jp_fetch, saved):
    for headers in ({"Authorization": ""}, {"Authorization": "token not-the-token"}):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("cmbagent", "api", "sessions", params={"q": "planck"}, headers=headers)
        assert info.value.code == 403
