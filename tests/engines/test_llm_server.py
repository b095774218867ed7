"""The scripted server speaks the OpenAI API well enough for the real openai client: plain and
streamed completions, usage with cached tokens, tool calls, structured outputs."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import openai
import pytest

from cmbjupyter.testing.llm_server import Rule, ScriptedLLMServer


@pytest.fixture
def client():
    script = [
        Rule(match="planner", tool_calls=[("record_plan", {"steps": ["a", "b"]})], usage=(500, 40, 100)),
        Rule(match="engineer", content="print(4)", usage=(300, 30, 0), times=1),
    ]
    with ScriptedLLMServer(script) as server:
        yield openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), server


def test_a_plain_completion_with_cached_token_usage(client):
    client, server = client
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "system", "content": "You are the planner."}]
    )
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "record_plan" and json.loads(call.function.arguments) == {
        "steps": ["a", "b"]
    }
    assert reply.usage.prompt_tokens == 500 and reply.usage.prompt_tokens_details.cached_tokens == 100
    assert server.requests[0]["model"] == "gpt-4o-mini"


def test_a_streamed_completion_ends_with_usage(client):
    client, _ = client
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "You are the engineer."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "print(4)" and chunks[-1].usage.completion_tokens == 30


def test_a_rule_answers_its_times_then_the_default_takes_over(client):
    client, _ = client
    messages = [{"role": "system", "content": "You are the engineer."}]
    first = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
    second = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
    assert (first, second) == ("print(4)", "TERMINATE")


def test_structured_output_gets_a_valid_instance_of_the_schema(client):
    client, _ = client
    schema = {
        "type": "object",
        "properties": {
            "filename": {"type": "string"},
            "python_code": {"type": "string"},
            "steps": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["filename", "python_code", "steps"],
    }
    reply = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "format this"}],
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
    )
    value = json.loads(reply.choices[0].message.content)
    assert value["filename"].endswith(".py") and value["steps"] == [1]
    compile(value["python_code"], "answer.py", "exec")


def test_a_forced_tool_call_without_a_rule_gets_arguments_valid_for_its_schema(client):
    client, _ = client
    tool = {
        "type": "function",
        "function": {
            "name": "record_choice",
            "parameters": {
                "type": "object",
                "properties": {"status": {"enum": ["in progress", "completed"]}},
            },
        },
    }
    reply = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "status?"}],
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "record_choice"}},
    )
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "record_choice" and json.loads(call.function.arguments) == {
        "status": "in progress"
    }


def _ocr(server, document_url: str) -> tuple[int, dict]:
    body = json.dumps(
        {"model": "mistral-ocr-latest", "document": {"type": "document_url", "document_url": document_url}}
    )
    request = urllib.request.Request(
        f"{server.mistral_url}/v1/ocr", body.encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_mistral_ocr_reads_the_pages_and_title_of_the_pdf_it_is_sent(client, tmp_path):
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    _, server = client
    with PdfPages(tmp_path / "p.pdf", metadata={"Title": "A scripted paper"}) as pdf:
        for _ in range(3):
            pdf.savefig(Figure())
    data = (tmp_path / "p.pdf").read_bytes()
    status, body = _ocr(server, "data:application/pdf;base64," + base64.b64encode(data).decode())
    assert status == 200 and len(body["pages"]) == 3
    assert body["pages"][2]["markdown"].startswith("# A scripted paper")
    assert body["usage_info"] == {"pages_processed": 3, "doc_size_bytes": len(data)}
    assert server.ocr_requests[0]["model"] == "mistral-ocr-latest" and not server.requests


def test_mistral_ocr_of_something_else_is_an_error_naming_the_problem(client):
    _, server = client
    status, body = _ocr(server, "data:application/pdf;base64," + base64.b64encode(b"hello").decode())
    assert status == 422 and "not a PDF" in body["message"]
    status, body = _ocr(server, "https://example.org/paper.pdf")
    assert status == 422 and "data URL" in body["message"]
