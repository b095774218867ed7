"""The wire format: one JSON event per line; nothing a worker writes can crash the host."""

from __future__ import annotations

import json
import math

from cmbjupyter.events import LineDecoder, decode_line, dumps, encode, json_safe, make_event


def test_an_event_is_one_line_of_json_with_version_type_timestamp_and_data():
    line = encode(make_event("phase_change", {"phase": "planning", "step": 1}))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    event = json.loads(line)
    assert event["v"] == 1 and event["type"] == "phase_change" and event["data"]["step"] == 1
    assert event["ts"].endswith("+00:00")


def test_values_that_are_not_json_are_made_safe():
    class Telescope:
        def __repr__(self):
            return "<Telescope Planck>"

    data = {
        "nan": float("nan"),
        "inf": math.inf,
        "set": {3, 1},
        "obj": Telescope(),
        "bytes": b"\xffok",
        1: "int key",
    }
    safe = json.loads(dumps(data))
    assert safe == {
        "nan": None,
        "inf": None,
        "set": [1, 3],
        "obj": "<Telescope Planck>",
        "bytes": "\ufffdok",
        "1": "int key",
    }
    assert json_safe({"t": (1, 2)}) == {"t": [1, 2]}


def test_malformed_lines_become_protocol_output_events():
    for line in (
        b"not json",
        b"[1, 2]",
        b'{"no": "type"}',
        b"\xff\xfe\x00garbage",
        b'{"type": ""}',
        b"1" * 5000,
        b'{"type": "output"} {"type": "output"}',  # two values on one line
        b'{"type": "output"',
        b"",
    ):
        event = decode_line(line)
        assert event["type"] == "output"
        assert event["data"]["stream"] == "protocol"
        assert event["data"]["message"].startswith("malformed event line")
        assert len(event["data"]["message"]) < 300


def test_json_whitespace_around_a_line_is_allowed():
    assert decode_line(b' \t{"type": "custom", "data": {"a": 1}}\r ')["data"] == {"a": 1}


def test_nan_written_by_a_worker_decodes_as_null():
    event = decode_line(b'{"type": "cost_update", "data": {"cost": NaN, "x": Infinity}}')
    assert event["data"] == {"cost": None, "x": None}


def test_non_dict_data_is_wrapped_not_dropped():
    assert decode_line(b'{"type": "custom", "data": [1, 2]}')["data"] == {"value": [1, 2]}


def test_the_decoder_joins_lines_split_across_chunks():
    stream = b"".join(encode(make_event("output", {"message": f"line {i}"})) for i in range(100))
    decoder = LineDecoder()
    events = []
    for i in range(0, len(stream), 7):
        events += decoder.feed(stream[i : i + 7])
    events += decoder.close()
    assert [e["data"]["message"] for e in events] == [f"line {i}" for i in range(100)]


def test_an_overlong_line_is_dropped_and_reported_once_then_decoding_goes_on():
    decoder = LineDecoder(max_line_bytes=1000)
    events = decoder.feed(b"x" * 600) + decoder.feed(b"y" * 600) + decoder.feed(b"z" * 600 + b"\n")
    events += decoder.feed(encode(make_event("status", {"status": "running"})))
    assert [e["type"] for e in events] == ["output", "status"]
    assert "1800 bytes exceeds the 1000-byte limit" in events[0]["data"]["message"]


def test_a_last_line_without_newline_is_decoded_when_the_pipe_closes():
    decoder = LineDecoder()
    assert decoder.feed(encode(make_event("a", {}))[:-1]) == []
    assert [e["type"] for e in decoder.close()] == ["a"]


async def test_a_run_of_events_reaches_every_sink_in_order_and_a_batch_form_in_one_call():
    """``Router.publish_many``: a sink with a batch form gets the run in one call; the others (sync
    and async) get every event, in order, as ``publish`` gives them."""
    from cmbjupyter.router import Router

    seen: dict[str, list[int]] = {"many": [], "sync": [], "async": []}
    calls = []

    async def slow(event):
        seen["async"].append(event["seq"])

    router = Router()
    router.add(lambda e: seen["many"].append(e["seq"]), many=lambda es: calls.append([e["seq"] for e in es]))
    router.add(lambda e: seen["sync"].append(e["seq"]))
    router.add(slow)
    events = [{**make_event("output", {"message": str(i)}), "seq": i} for i in range(1, 6)]
    await router.publish_many(events)
    await router.publish({**make_event("status", {"status": "running"}), "seq": 6})
    assert calls == [[1, 2, 3, 4, 5]] and seen["many"] == [6]
    assert seen["sync"] == seen["async"] == [1, 2, 3, 4, 5, 6]
