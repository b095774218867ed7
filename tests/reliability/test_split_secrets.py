"""A secret printed in pieces is still redacted: written at the file-descriptor level in two parts with
a pause between them (the first part is sent on its own after PARTIAL_LINE_DELAY), cut by the 64 KiB
line limit, or flushed half-way from Python. Checked in the callback's events, the event log and the
sidecar; and the unit rules: no prefix of a secret is ever shown, text that cannot start a secret is
shown at once, and any environment variable whose name contains KEY, TOKEN, SECRET or PASSWORD is a
secret."""

from __future__ import annotations

import pytest

from cmbjupyter.backends.local import LINE_CHARS
from cmbjupyter.redact import Redactor, StreamRedactor, is_secret_env_name, is_secret_key
from cmbjupyter.worker.capture import CHUNK_CHARS

SECRET = "sk-split-secret-0123456789abcdef"
HALF = len(SECRET) // 2

SPLIT_TASK = f"""
import os, sys, time
secret = os.environ["SURVEY_TOKEN_VALUE"]
os.write(1, ("fd pause: " + secret[:{HALF}]).encode())
time.sleep(1.0)  # past PARTIAL_LINE_DELAY: the first half is sent as a partial piece
os.write(1, (secret[{HALF}:] + " end\\n").encode())
os.write(1, ("x" * ({LINE_CHARS} - {HALF}) + secret + " long end\\n").encode())
sys.stdout.write("flushed: " + secret[:{HALF}])
sys.stdout.flush()
sys.stdout.write(secret[{HALF}:] + " end\\n")
sys.stdout.write("y" * ({CHUNK_CHARS} - 3) + secret[:{HALF}])
sys.stdout.write(secret[{HALF}:] + " chunk end\\n")
sys.stdout.flush()
os.write(2, ("stderr at close " + secret[:{HALF}]).encode())
"""


def _lines(events: list[dict], stream: str) -> list[str]:
    """The stream's lines, put back together from their pieces."""
    lines, current = [], ""
    for event in events:
        data = event["data"]
        if event["type"] == "output" and data.get("stream") == stream:
            current += data["message"]
            if not data.get("partial"):
                lines.append(current)
                current = ""
    return [*lines, current] if current else lines


async def test_a_secret_printed_in_pieces_is_redacted_everywhere(executor, collected, tmp_path):
    config = {"engine": "python", "session_id": "split", "env": {"SURVEY_TOKEN_VALUE": SECRET}}
    await executor.execute("split", SPLIT_TASK, config, collected)
    assert SECRET[HALF:] not in repr(collected.events)
    stdout = _lines(collected.events, "stdout")
    assert "fd pause: [redacted] end" in stdout
    assert "x" * (LINE_CHARS - HALF) + "[redacted] long end" in stdout
    assert "flushed: [redacted] end" in stdout
    assert "y" * (CHUNK_CHARS - 3) + "[redacted] chunk end" in stdout
    # A prefix of a secret is held back until nothing can complete it: here, until the stream closed.
    assert _lines(collected.events, "stderr") == [f"stderr at close {SECRET[:HALF]}"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET[HALF:].encode() not in path.read_bytes(), path
    assert executor.session_manager.event_log_path("split").stat().st_size > 0


def test_no_prefix_of_a_secret_is_shown_and_other_text_is_shown_at_once():
    stream = StreamRedactor(Redactor([SECRET]))
    assert stream.piece("stdout", "progress 50%", line_ends=False) == "progress 50%"
    assert stream.piece("stdout", f"key {SECRET[:5]}", line_ends=False) == "key "
    assert stream.piece("stderr", "other stream", line_ends=True) == "other stream"
    assert stream.piece("stdout", SECRET[5:9], line_ends=False) == ""
    assert stream.piece("stdout", SECRET[9:] + " ok", line_ends=False) == "[redacted] ok"
    assert stream.piece("stdout", f"{SECRET[:3]}", line_ends=False) == ""
    assert stream.piece("stdout", "!", line_ends=False) == f"{SECRET[:3]}!"  # can no longer be a secret
    assert stream.piece("stdout", SECRET[:4], line_ends=True) == SECRET[:4]  # the line ended: released
    assert stream.piece("stdout", SECRET[:6], line_ends=False) == ""
    assert stream.close() == {"stdout": SECRET[:6]}
    assert stream.close() == {}


def test_a_secret_learned_later_is_held_back_from_then_on():
    redactor = Redactor()
    stream = StreamRedactor(redactor)
    assert stream.piece("agent", "pass: hunter2hunt", line_ends=False) == "pass: hunter2hunt"
    redactor.learn({"password": "hunter2hunter2"})
    assert stream.piece("agent", "pass: hunter2hun", line_ends=False) == "pass: "
    assert stream.piece("agent", "ter2!", line_ends=True) == "[redacted]!"


@pytest.mark.parametrize(
    "name", ["OPENAI_API_KEY", "KEYRING_FILE", "hf_token_x", "MY_SECRET_STUFF", "DB_PASSWORD_PROD", "PASSWD"]
)
def test_environment_variables_named_like_secrets_are_secrets(name):
    assert is_secret_env_name(name)
    value = "a-value-long-enough"
    assert Redactor.for_task({}, environ={name: value}).text(f"is {value}") == "is [redacted]"


def test_ordinary_environment_variables_and_token_counts_are_not_secrets():
    assert not is_secret_env_name("HOME")
    assert Redactor.for_task({}, environ={"HOME": "/home/someone/long"}).secrets == ()
    assert not is_secret_key("input_tokens")  # mapping keys keep their own rule
    assert Redactor(["sk-abcdefgh"]).value({"input_tokens": 12}) == {"input_tokens": 12}
