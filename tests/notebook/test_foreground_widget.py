"""A foreground ``%%cmbagent`` cell keeps its widget live: in a real kernel, the widget's Cancel and
file requests (comm messages) are handled while the cell still waits for its run."""

from __future__ import annotations

import queue
import time
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

from tests.waiting import BOUND

#: A task that runs until it is cancelled (about 10 minutes otherwise), after writing a file.
LONG_TASK = """
import time
open('early.txt', 'w').write('made before the run ends')
emit.output('file written')
for i in range(6000):
    time.sleep(0.1)
result = 'ran to the end'
"""


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SERVER", "off")  # kernel mode: this is about the kernel's wait
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    client.manager = manager  # for the interrupt
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run_quietly(client: Any, code: str) -> dict[str, Any]:
    reply = client.execute_interactive(code, timeout=BOUND, output_hook=lambda _msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply


def printed(client: Any, code: str) -> str:
    out: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    client.execute_interactive(code, timeout=BOUND, output_hook=hook)
    return "".join(out)


def iopub_until(client: Any, found: Any, what: str) -> dict[str, Any]:
    """The first iopub message for which ``found(msg)`` holds (others are skipped)."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if found(msg):
            return msg
    raise AssertionError(f"timed out after {BOUND:g} s waiting for {what}")


def widget_comm(msg: dict[str, Any]) -> bool:
    return msg["msg_type"] == "comm_open" and "_esm" in str(msg["content"]["data"].get("state", {}))


def custom(client: Any, comm_id: str, content: dict[str, Any]) -> None:
    """What the browser's ``model.send(content)`` sends (the widgets protocol's custom message)."""
    data = {"method": "custom", "content": content}
    client.shell_channel.send(client.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))


def test_the_in_cell_cancel_and_file_requests_are_handled_while_a_foreground_cell_waits(kernel):
    run_quietly(kernel, "%load_ext cmbjupyter")
    cell = kernel.execute(f"%%cmbagent --engine python --session fg-cancel\n{LONG_TASK}")
    comm_id = iopub_until(kernel, widget_comm, "the RunWidget")["content"]["comm_id"]
    iopub_until(kernel, lambda m: "file written" in str(m["content"]), "the task to write its file")

    custom(kernel, comm_id, {"type": "file", "id": 7, "path": "early.txt"})
    reply = iopub_until(
        kernel,
        lambda m: m["msg_type"] == "comm_msg" and m["content"]["data"].get("content", {}).get("id") == 7,
        "the file's answer while the cell runs",
    )
    assert reply["content"]["data"]["content"].get("error") is None, reply["content"]
    assert bytes(reply["buffers"][0]) == b"made before the run ends"

    custom(kernel, comm_id, {"type": "cancel"})
    done = kernel.get_shell_msg(timeout=BOUND)
    while done["parent_header"].get("msg_id") != cell:
        done = kernel.get_shell_msg(timeout=BOUND)
    assert done["content"]["status"] == "ok"
    assert printed(kernel, "print(_.status, _.state.error['error_type'])").split() == [
        "cancelled",
        "TaskCancelled",
    ]


def test_a_foreground_cell_still_holds_the_next_cell_until_its_run_ends(kernel):
    run_quietly(kernel, "%load_ext cmbjupyter")
    kernel.execute("%%cmbagent --engine python --session fg-order\nimport time; time.sleep(1); result = 1")
    assert printed(kernel, "print(_.status)").strip() == "completed"


def test_interrupting_a_foreground_cell_cancels_its_task(kernel):
    run_quietly(kernel, "%load_ext cmbjupyter")
    cell = kernel.execute(f"%%cmbagent --engine python --session fg-interrupt\n{LONG_TASK}")
    # the task's own output (the cell's code, echoed in execute_input, says it too): an interrupt
    # that lands before the kernel runs the cell is dropped by ipykernel, as for any cell
    iopub_until(
        kernel,
        lambda m: m["msg_type"] != "execute_input" and "file written" in str(m["content"]),
        "the task to start",
    )
    kernel.manager.interrupt_kernel()
    done = kernel.get_shell_msg(timeout=BOUND)
    while done["parent_header"].get("msg_id") != cell:
        done = kernel.get_shell_msg(timeout=BOUND)
    assert done["content"]["status"] == "error"
    assert printed(kernel, "print(_.status)").strip() == "cancelled"


def test_the_line_of_an_awaited_cell_expands_notebook_variables_as_ipython_does(kernel):
    run_quietly(kernel, "%load_ext cmbjupyter\nname = 'fg-expanded'\nengine = 'python'")
    run_quietly(kernel, "%%cmbagent --engine {engine} --session $name\nresult = 1")
    assert printed(kernel, "print(_.session_id, _.status)").split() == ["fg-expanded", "completed"]
