"""Bad input on every channel: garbage on the event pipe, impossible numbers, unencodable context,
hostile session ids. Each is a clear message; the run goes on; nothing lands outside the sessions root."""

from __future__ import annotations

import json
import os

import pytest

from cmbjupyter.errors import ConfigError

GARBAGE = """
import os
fd = emit._fd
os.write(fd, b"this is not json\\n")
os.write(fd, b"\\x00\\xff\\xfe binary \\x89PNG\\r\\n")
os.write(fd, b'{"type": 42}\\n')
os.write(fd, b'[1, 2, 3]\\n')
os.write(fd, b'{"type": "output", "data": {"message": "valid after garbage", "stream": "agent"}}\\n')
os.write(fd, bytes(range(256)) + b"\\n")
os.write(fd, b'{"type": "cost_update", "data": {"model": "gpt-4o", "input_tokens": ' + b"9" * 5000 + b'}}\\n')
result = "survived"
"""


async def test_garbage_on_the_event_pipe_becomes_protocol_output_and_the_run_goes_on(run_python, collected):
    result = await run_python(GARBAGE)
    assert result["result"] == "survived"
    protocol = [d["message"] for d in collected.of("output") if d["stream"] == "protocol"]
    assert len(protocol) == 7  # bytes(range(256)) holds a newline: two lines
    assert all(m.startswith("malformed event line") for m in protocol)
    assert "valid after garbage" in [d["message"] for d in collected.of("output")]
    assert collected.of("complete") == [{"status": "success"}]


async def test_impossible_cost_numbers_are_refused_with_a_warning_and_not_counted(
    run_python, collected, executor
):
    source = """
emit.event("cost_update", {"model": "gpt-4o", "input_tokens": float("nan"), "output_tokens": 1})
emit.event("cost_update", {"model": "gpt-4o", "input_tokens": 10**20, "output_tokens": 1})
emit.event("cost_update", {"model": "gpt-4o", "input_tokens": 1, "output_tokens": 1, "cost": float("inf")})
emit.event("cost_update", {"model": "gpt-4o", "input_tokens": 1, "output_tokens": 1, "cost": -3})
emit.event("cost_update", {"input_tokens": 1, "output_tokens": 1})
record_usage("gpt-4o", 1000, 100)
"""
    await run_python(source, session_id="costs")
    warnings = [w["message"] for w in collected.of("warning")]
    assert warnings == [
        "ignored: cost_update for 'gpt-4o' has an invalid input_tokens: 100000000000000000000",
        "ignored: cost_update for 'gpt-4o' has an invalid cost: -3",
        "ignored: cost_update without a model name",
    ]
    # The wire has no NaN/inf: they arrive as null, i.e. missing -- no tokens, or a cost the ledger prices.
    costs = collected.of("cost_update")
    assert [(c["input_tokens"], c["priced_by"]) for c in costs] == [
        (0, "genai-prices 0.2.3"),
        (1, "genai-prices 0.2.3"),
        (1000, "genai-prices 0.2.3"),
    ]
    record = executor.session_manager.load_session("costs")
    assert record["cost"]["calls"] == 3
    assert record["cost"]["total_usd"] == pytest.approx(
        (1 * 10 + 1 * 2.5 + 1 * 10 + 1000 * 2.5 + 100 * 10) / 1e6
    )


async def test_context_variables_that_are_not_json_are_saved_as_their_repr(run_python, executor):
    source = """
import threading
class Spectrum:
    def __repr__(self):
        return "Spectrum(lmax=2500)"
loop = {}
loop["self"] = loop
phase("planning", context={"spectrum": Spectrum(), "lock": threading.Lock(), "nan": float("nan"),
                           "loop": loop, "bytes": b"\\x00\\x01", 3: "int key"})
"""
    await run_python(source, session_id="ctx", mode="planning-control")
    context = executor.session_manager.load_session("ctx")["context_variables"]
    assert context["spectrum"] == "Spectrum(lmax=2500)"
    assert context["nan"] is None and context["3"] == "int key"
    assert "lock" in context["lock"]
    json.dumps(context)


@pytest.mark.parametrize(
    "session_id",
    ["../outside", "/etc/passwd", "a/../../b", "nul\x00byte", "x" * 300, "..", "~root", " ", "é"],
)
async def test_hostile_session_ids_are_refused_before_anything_starts(
    executor, tmp_path, session_id, collected
):
    before = set(os.listdir(tmp_path))
    with pytest.raises(ConfigError, match="invalid session id"):
        await executor.execute("t", "pass", {"engine": "python", "session_id": session_id}, collected)
    assert collected.events == []
    assert set(os.listdir(tmp_path)) == before


@pytest.mark.parametrize(
    "config",
    [
        {"mode": None},
        {"mode": ["one-shot"]},
        {"engine": "has space"},
        {"engine": 3},
        {"timeout": float("inf")},
        {"timeout": True},
        {"memory_limit_mb": -5},
        {"budget_usd": float("nan")},
        {"env": "PATH=/tmp"},
        {"env": {"K": None}},
        {"work_dir": 12},
        {"python": "/no/such/python"},
        {"prices": []},
    ],
)
async def test_invalid_configs_are_value_errors_naming_the_problem(executor, config, collected):
    with pytest.raises(ValueError, match=r"config|mode|engine|unknown") as info:
        await executor.execute("t", "pass", {"engine": "python", **config}, collected)
    assert isinstance(info.value, ConfigError)
    assert collected.events == []


async def test_a_task_that_is_not_a_string_is_refused(executor):
    with pytest.raises(ConfigError, match="task must be a string"):
        await executor.execute("t", b"bytes", {"engine": "python"})
    with pytest.raises(ConfigError, match="config must be a dict"):
        await executor.execute("t", "pass", ["mode"])


async def test_a_huge_single_output_line_arrives_whole_to_the_callback_and_capped_in_the_state(
    run_python, collected, executor
):
    await run_python("emit.output('x' * 10_000_000)\nprint('y' * 3_000_000)", session_id="huge")
    sizes = sorted(len(d["message"]) for d in collected.of("output"))
    assert sizes == [3_000_000, 10_000_000]
    record = executor.session_manager.load_session("huge")
    assert max(len(h["content"]) for h in record["conversation_history"]) < 5000
    assert executor.session_manager.path("huge").stat().st_size < 100_000
