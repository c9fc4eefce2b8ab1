"""The hub as an LLM agent sees it with --mcp: every listed tool, called by a real MCP client (the `mcp` package's
ClientSession over streamable HTTP) with a typical input, answers; file-taking tools take a file as a data: URI (never
a URL: the server fetches nothing a client names), a drawing as its picture (web/mcp_files.py)."""
import asyncio
import base64
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jsonschema
import pytest

import demos
from messages import say
from raw_api import launch

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
DIGIT, SKETCH, PHOTO, SPEECH = (EXAMPLES / "digits" / "drawn-7.png", EXAMPLES / "sketches" / "scene-1.png",
                                EXAMPLES / "images" / "cat.jpg", EXAMPLES / "audio" / "english.wav")


def data_uri(path: Path) -> str:
    kind = {".png": "image/png", ".jpg": "image/jpeg", ".wav": "audio/wav"}[path.suffix]
    return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode()


# tool -> (task, arguments besides the model, the kinds of content its answer holds, in order). A tool not here (a
# new task's) is called with its endpoint's sample request. An image comes with a text giving its URL.
TEXT, IMAGE = "text", "image"
TYPICAL = {
    "classify_image": ("image_classification", {"image": data_uri(PHOTO)}, [TEXT]),
    "detect_objects": ("object_detection", {"image": data_uri(PHOTO), "threshold": 0.05}, [IMAGE, TEXT, TEXT]),
    "recognize_digit": ("digits", {"image": data_uri(DIGIT)}, [TEXT, IMAGE, TEXT]),
    "ner": ("ner", {"text": "Alice lives in Paris."}, [TEXT, TEXT]),
    "classify_sentiment": ("sentiment", {"text": "What a lovely day."}, [TEXT, TEXT]),
    "translate_text": ("translation", {"text": "Good morning.", "source": "en", "target": "zh"}, [TEXT]),
    "transcribe_audio": ("speech_to_text", {"audio": data_uri(SPEECH)}, [TEXT, TEXT]),
    "generate_gan": ("gan", {"seed": 3, "count": 4}, [IMAGE, TEXT]),
    "interpolate_gan": ("gan", {"seed_a": 1, "seed_b": 2, "frames": 3}, [IMAGE, TEXT]),
    "pix2pix": ("pix2pix", {"drawing": data_uri(SKETCH)}, [IMAGE, TEXT]),
    "edit_image": ("image_editing", {"image": data_uri(PHOTO), "instruction": "make it winter", "steps": 2},
                   [IMAGE, TEXT]),
    "chat_reply": ("text_generation", {"message": "Hello!", "max_new_tokens": 4, "seed": 1}, [TEXT]),
    "complete_text": ("text_generation", {"prompt": "Once upon a time", "max_new_tokens": 4, "seed": 1}, [TEXT]),
    "measure_optimisations": (None, {"model": "digits", "techniques": ["int8"], "runs": 1}, [TEXT] * 4),
}
FILE_TOOLS = ("classify_image", "recognize_digit", "pix2pix")
# The workbench's tools: each compare_ twin with its endpoint's typical request, its second model the same (the
# session's tiny one: the result cache answers it), and a chain.
WORKBENCH = {**{f"compare_{name}": (task, arguments) for name, (task, arguments, _) in TYPICAL.items()},
             "run_chain": (None, {"steps": "translation → ner", "text": "Good morning.", "source_language": "en",
                                  "target_language": "zh"})}


@pytest.fixture(scope="module")
def hub(tiny_overrides):
    app, runtime, base = launch(tiny_overrides, {"mcp_server": True})
    yield app, runtime, f"{base}/gradio_api/mcp/"
    app.close()


async def in_session(url: str, work, headers: dict | None = None):
    """`work(session)` in an initialized MCP client session over streamable HTTP."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx.AsyncClient(headers=headers, timeout=300) as http, \
            streamable_http_client(url, http_client=http) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        return await work(session)


def listed_tools(url: str) -> dict:
    async def tools(session):
        return {tool.name: tool for tool in (await session.list_tools()).tools}

    return in_own_loop(in_session(url, tools))


def calls(url: str, requests: list[tuple[str, dict]], headers: dict | None = None) -> list:
    async def answers(session):
        return [await session.call_tool(name, arguments) for name, arguments in requests]

    return in_own_loop(in_session(url, answers, headers))


def in_own_loop(work):
    """`work` run to its end on a thread of its own: the browser tests' Playwright keeps an event loop running on
    this thread for the whole session, and asyncio.run() refuses to start beside it."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()


def arguments_of(tool: str, runtime) -> dict:
    if tool in WORKBENCH:
        task, arguments = WORKBENCH[tool]
        model = runtime.default(task).name if task else None
        return {**arguments, "model": model, "second_model": model} if task else arguments
    if tool not in TYPICAL:
        endpoint = next(endpoint for endpoint in demos.ENDPOINTS if endpoint.fn.__name__ == tool)
        assert endpoint.sample, f"{tool}: give its endpoint a sample request, or the tool an entry in TYPICAL"
        values = endpoint.sample(runtime.default(endpoint.task).name)
        return {name: data_uri(value) if isinstance(value, Path) else value
                for name, value in zip(endpoint.params, values)}
    task, arguments, _ = TYPICAL[tool]
    return {**arguments, "model": runtime.default(task).name} if task else arguments


def text_of(answer) -> str:
    return " ".join(getattr(part, "text", "") for part in answer.content)


def test_every_listed_tool_has_a_valid_schema_and_answers_a_typical_call(hub):
    _, runtime, url = hub
    tools = listed_tools(url)
    assert set(TYPICAL) <= set(tools)
    requests = []
    for name, tool in tools.items():
        jsonschema.Draft202012Validator.check_schema(tool.inputSchema)
        arguments = arguments_of(name, runtime)
        jsonschema.Draft202012Validator(tool.inputSchema).validate(arguments)  # no dangling $ref to resolve
        requests.append((name, arguments))
    answers = dict(zip([name for name, _ in requests], calls(url, requests), strict=True))
    assert not [(name, text_of(answer)) for name, answer in answers.items() if answer.isError]
    kinds = {name: [part.type for part in answer.content] for name, answer in answers.items()}
    assert {name: kinds[name] for name in TYPICAL} == {name: expected for name, (_, _, expected) in TYPICAL.items()}


def test_file_tools_read_the_file_they_are_given(hub):
    _, runtime, url = hub
    digit, drawing = calls(url, [("recognize_digit", arguments_of("recognize_digit", runtime)),
                                 ("pix2pix", arguments_of("pix2pix", runtime))])
    assert "'label': '7'" in digit.content[0].text, "the drawing's picture is read: a 7"
    image = digit.content[1]
    assert image.mimeType == "image/png" and base64.b64decode(image.data).startswith(b"\x89PNG")
    assert drawing.content[0].type == IMAGE and drawing.content[0].data


def test_descriptions_name_only_listed_tools_and_say_how_files_are_given(hub):
    _, _, url = hub
    tools = listed_tools(url)
    for name, tool in tools.items():
        named = set(re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", tool.description or ""))
        assert named <= set(tools), (name, named - set(tools))
        for parameter, schema in tool.inputSchema["properties"].items():
            assert "$ref" not in str(schema) and "$defs" not in str(schema), (name, parameter)
            # whole docstring entries, not their first lines (an entry ends with a full stop)
            assert schema.get("description", ".").endswith((".", ")")), (name, parameter, schema.get("description"))
    assert "upload_file_to_gradio" not in str({name: tool.model_dump() for name, tool in tools.items()})
    for name in FILE_TOOLS:
        assert "data: URI" in tools[name].description
        assert [schema["type"] for schema in tools[name].inputSchema["properties"].values()][0] == "string"
    schema = httpx.get(url.replace("/mcp/", "/mcp/schema"), timeout=30)
    assert schema.status_code == 200 and "$ref" not in schema.text and "upload_file_to_gradio" not in schema.text


def test_a_file_that_is_not_a_data_uri_is_refused_in_plain_words(hub):
    _, runtime, url = hub
    model = runtime.default("image_classification").name
    path, object_, broken = calls(url, [
        ("classify_image", {"image": "/etc/passwd", "model": model}),
        ("classify_image", {"image": {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, "model": model}),
        ("classify_image", {"image": "data:image/png;base64,not base64!", "model": model}),
    ])
    assert path.isError and text_of(path) == say("mcp_not_a_file", name="image")
    assert object_.isError and "is not of type 'string'" in text_of(object_), "the schema is checked: no server path"
    assert broken.isError and text_of(broken) == say("mcp_not_a_file", name="image")


def test_a_file_by_url_is_refused_the_server_fetches_nothing_a_client_names(hub):
    _, runtime, url = hub
    model = runtime.default("digits").name
    for address in ("http://127.0.0.1:1/digits/drawn-7.png", "https://example.com/seven.png"):
        (refused,) = calls(url, [("recognize_digit", {"image": address, "model": model})])
        assert refused.isError and text_of(refused) == say("mcp_not_a_file", name="image")


def test_served_publicly_behind_the_share_tunnel_file_tools_answer(tiny_overrides):
    """Public: uploads are their sender's, and the MCP server's client, on 127.0.0.1, sends a call's files."""
    app, runtime, base = launch(tiny_overrides, {"mcp_server": True}, public=True, behind_proxy=True)
    try:
        requests = [(name, arguments_of(name, runtime)) for name in FILE_TOOLS]
        for headers in ({"X-Forwarded-For": "203.0.113.7"}, None):
            for (name, _), answer in zip(requests, calls(f"{base}/gradio_api/mcp/", requests, headers), strict=True):
                assert not answer.isError, (name, headers, text_of(answer))
                assert [part.type for part in answer.content] == TYPICAL[name][2], name
    finally:
        app.close()
