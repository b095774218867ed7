"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 (the one allowed test double).

It speaks enough of the OpenAI API for the real ``openai`` client and AG2 to run end to end offline:
``POST /v1/chat/completions`` (plain and streamed, tool calls, structured outputs, ``usage`` with
cached tokens) and ``GET /v1/models``; and Mistral's ``POST /v1/ocr`` (``mistral_ocr``), which
cmbagent's OCR calls. Answers come from a *script*: a list of rules, each matching
on the requesting agent (its system message or ``name``) and turn, first match wins; requests with a
JSON ``response_format`` and no matching rule get a minimal instance of the schema. Every request is
recorded in :attr:`ScriptedLLMServer.requests`.

    with ScriptedLLMServer(script) as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url   # ends in /v1
        os.environ["MISTRAL_SERVER_URL"] = server.mistral_url  # the root: Mistral's SDK adds /v1

Run standalone: ``python -m cmbjupyter.testing.llm_server --port 8765``.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .cmbagent_script import cmbagent_answer
from .mistral_ocr import ocr_answer

__all__ = ["Rule", "ScriptedLLMServer", "schema_instance"]


@dataclass
class Rule:
    """One scripted answer: ``content`` text and/or ``tool_calls`` [(name, arguments)]."""

    match: str = ""  # substring of the system message, the agent's name or the last message
    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    usage: tuple[int, int, int] = (100, 20, 0)  # prompt, completion, cached prompt tokens
    times: int | None = None  # answer at most this many times (None: always)
    status: int = 200  # another HTTP status answers with an OpenAI-style error instead (a failing call)
    used: int = 0


def schema_instance(schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> Any:
    """A small value valid against a JSON schema (for structured-output requests with no rule)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return schema_instance(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return schema_instance(schema[key][0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _named_string(name) or schema_instance(sub, defs) for name, sub in props.items()}
    if kind == "array":
        return [schema_instance(schema.get("items", {"type": "string"}), defs)]
    return {"string": "scripted", "integer": 1, "number": 1.0, "boolean": True, "null": None}.get(
        kind, "scripted"
    )


#: Plausible values for string fields by name, so that structured answers can be acted on
#: (cmbagent's engineer formatter writes ``<path>/<filename>`` and runs the code).
NAMED_STRINGS = (("code", "print('scripted answer:', 2 + 2)"), ("file", "answer.py"), ("path", "codebase"))


def _named_string(name: str) -> str | None:
    return next((value for part, value in NAMED_STRINGS if part in name.lower()), None)


class ScriptedLLMServer:
    """The server, in a daemon thread; a context manager."""

    def __init__(self, script: list[Rule] | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []
        #: The ``message`` answered to each chat-completions request, in order (errors are not).
        self.answers: list[dict[str, Any]] = []
        #: The ``Authorization`` header of each chat-completions request (which key a client used).
        self.authorizations: list[str] = []
        self.ocr_requests: list[dict[str, Any]] = []  # Mistral OCR calls, apart from chat requests
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="scripted-llm", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def mistral_url(self) -> str:
        """The server URL for Mistral's SDK (``Mistral(server_url=...)``), which adds ``/v1/ocr``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ScriptedLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self, script: list[Rule] | None = None) -> None:
        """Forget the recorded requests and start a new script (a server shared by several tests)."""
        with self._lock:
            self.script = list(script or [])
            self.requests.clear()
            self.answers.clear()
            self.authorizations.clear()
            self.ocr_requests.clear()

    def ocr(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """``(status, body)`` for one Mistral OCR request (recorded in :attr:`ocr_requests`)."""
        with self._lock:
            self.ocr_requests.append(request)
        return ocr_answer(request)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The ``message`` and ``usage`` for one chat-completions request."""
        with self._lock:
            self.requests.append(request)
            rule = self._rule(request)
            if rule is not None:
                rule.used += 1
        if rule is None:
            rule = self._default_rule(request)
        if rule.status != 200:
            return {
                "status": rule.status,
                "error": {"message": rule.content or "scripted error", "type": "scripted"},
            }
        message: dict[str, Any] = {"role": "assistant", "content": rule.content}
        if rule.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{uuid.uuid4().hex[:12]}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for name, args in rule.tool_calls
            ]
        with self._lock:
            self.answers.append(message)
        prompt, completion, cached = rule.usage
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        }
        return {"message": message, "usage": usage}

    def _rule(self, request: dict[str, Any]) -> Rule | None:
        haystack = _describe(request)
        wants_json = (request.get("response_format") or {}).get("type") in ("json_schema", "json_object")
        for rule in self.script:
            if rule.match not in haystack or (rule.times is not None and rule.used >= rule.times):
                continue
            if wants_json and not _is_json(rule.content):  # a text answer can't serve a structured request
                continue
            return rule
        return None

    def _default_rule(self, request: dict[str, Any]) -> Rule:
        """No rule matched: cmbagent's agents get their scripted default (``cmbagent_script``); else
        call the function ``tool_choice`` forces (arguments valid against its schema), else answer
        ``response_format`` with a schema instance, else say TERMINATE."""
        scripted = cmbagent_answer(request)
        if scripted is not None:
            return Rule(content=scripted[0], tool_calls=scripted[1])
        choice = request.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") == "function":
            name = choice.get("function", {}).get("name")
            for tool in request.get("tools") or []:
                function = tool.get("function") or {}
                if function.get("name") == name:
                    return Rule(tool_calls=[(name, schema_instance(function.get("parameters") or {}))])
        return Rule(content=self._default_content(request))

    @staticmethod
    def _default_content(request: dict[str, Any]) -> str:
        response_format = request.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            return json.dumps(schema_instance(response_format["json_schema"].get("schema", {})))
        if response_format.get("type") == "json_object":
            return "{}"
        return "TERMINATE"


def _is_json(text: str | None) -> bool:
    try:
        json.loads(text or "")
    except ValueError:
        return False
    return True


def _describe(request: dict[str, Any]) -> str:
    """What rules match against: system messages, names, and the last message."""
    messages = request.get("messages") or []
    parts = [str(m.get("content") or "") for m in messages if m.get("role") == "system"]
    parts += [str(m.get("name") or "") for m in messages]
    if messages:
        parts.append(str(messages[-1].get("content") or ""))
    return "\n".join(parts)


def _handler(server: ScriptedLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})
            else:
                self._json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._json(400, {"error": {"message": "the body is not JSON"}})
                return
            if self.path.rstrip("/").endswith("/v1/ocr"):
                self._json(*server.ocr(request))
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            with server._lock:
                server.authorizations.append(self.headers.get("Authorization") or "")
            reply = server.answer(request)
            if "error" in reply:
                self._json(reply["status"], {"error": reply["error"]})
                return
            model = request.get("model") or "gpt-4o-mini"
            base = {"id": f"chatcmpl-{uuid.uuid4().hex[:16]}", "created": int(time.time()), "model": model}
            if request.get("stream"):
                self._stream(base, reply, (request.get("stream_options") or {}).get("include_usage"))
                return
            finish = "tool_calls" if reply["message"].get("tool_calls") else "stop"
            choice = {"index": 0, "message": reply["message"], "finish_reason": finish, "logprobs": None}
            self._json(
                200, {**base, "object": "chat.completion", "choices": [choice], "usage": reply["usage"]}
            )

        def _stream(self, base: dict[str, Any], reply: dict[str, Any], include_usage: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            message = reply["message"]
            delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
            if message.get("tool_calls"):
                delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            chunks = [
                {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
            ]
            if include_usage:
                chunks.append({"choices": [], "usage": reply["usage"]})
            for chunk in chunks:
                data = json.dumps({**base, "object": "chat.completion.chunk", **chunk})
                self.wfile.write(f"data: {data}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="A scripted OpenAI-compatible server for offline runs.")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with ScriptedLLMServer(port=args.port) as server:
        print(f"offline scripted LLM at {server.base_url} (OPENAI_BASE_URL)", flush=True)
        print(f"offline scripted Mistral OCR at {server.mistral_url} (MISTRAL_SERVER_URL)", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
