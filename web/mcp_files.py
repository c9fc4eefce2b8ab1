"""The MCP tools that take a file (`python app.py --mcp`): a client gives each file as a `data:` URI, a drawing as its
picture, and the call answers. Not as a URL: the server fetches nothing a client names (README, Security).

Works around Gradio 6.31's gradio/mcp.py, on the app's GradioMCPServer as the app starts (`with_mcp_file_tools`):
- `simplify_filedata_schema` makes each FileData node a string but keeps its `$ref` and leaves a parameter's own
  `$defs` inside it, so a Sketchpad's schema points at a `#/$defs/FileData` that the root lacks: every validator,
  the MCP server's own before each call, fails on it (PointerToNowhere) whatever is sent. Its file positions hold
  schema keys ("properties", "anyOf") that no value's path has, so a drawing's file would never be converted.
- file-taking tools' descriptions ask for an `upload_file_to_gradio` tool that is not listed, and a parameter's
  description keeps only the first line of its docstring entry.
- a URL goes on as the file's path, which the hub refuses (only uploads are inputs: request_shape.py); a `data:`
  URI is decoded on the event loop into the upload folder, where nobody owns it.
- without a progress token, an endpoint's several outputs come back as one text (the client's tuple).
Here a file or a drawing is one string in the schema. Before the call, off the event loop, each is decoded into a
folder of the call's own (its size is bounded by the MCP request's, HttpGuard); Gradio's client then uploads it from
127.0.0.1 like any client, so the hub's checks hold (a drawing goes as the Sketchpad's composite).
Upstream fix that would let this go (to report: no issue found for it): mcp.py inlining FileData without `$ref`,
recording a file's position as its value's path (an image editor's composite included), naming only listed tools,
keeping whole parameter descriptions, uploading a call's files itself, and one content per output.
"""
from __future__ import annotations

import binascii
import contextlib
import inspect
import re
import tempfile
from contextvars import ContextVar
from pathlib import Path

import anyio
from gradio.processing_utils import save_base64_to_cache
from gradio_client.utils import handle_file

from engines.refusal import Refusal
from messages import language_of_header

FILE_SCHEMA = {"type": "string", "format": "uri"}
FILES_SENTENCE = " Give each file as a data: URI (data:image/png;base64,...)."
DRAWING_DESCRIPTION = "the drawing as one picture (its strokes on their background), a file."
# The local copy of each file string a tool call sent, for the call being answered.
_LOCAL_COPIES: ContextVar[dict[str, str] | None] = ContextVar("mcp_local_copies", default=None)
_OUTPUTS: ContextVar[int] = ContextVar("mcp_outputs", default=1)  # how many outputs the call's endpoint has


def with_mcp_file_tools(lifespan):
    """The app's `lifespan`, entered once the app's MCP server (where there is one) takes files as strings."""

    @contextlib.asynccontextmanager
    async def taking_files(app):
        server = getattr(app.get_blocks(), "mcp_server_obj", None)
        if server is not None:
            take_files_as_strings(server)
        async with lifespan(app):
            yield

    return taking_files


def take_files_as_strings(server) -> None:
    """Sets Gradio's MCP server right for file inputs (the module's docstring): before it lists a tool."""
    from mcp.types import CallToolRequest

    describe, prepare = server.get_fn_description, server._prepare_tool_call_args
    upload_sentence = server._file_data_tool_description

    def description(block_fn, tool_name: str) -> tuple[str, dict[str, str]]:
        text, parameters = describe(block_fn, tool_name)
        whole = whole_arguments(block_fn.fn)
        parameters = {name: whole.get(name, said) for name, said in parameters.items()}
        return text.replace(upload_sentence, FILES_SENTENCE), parameters

    def prepared(name: str, arguments: dict):
        endpoint, args, headers, block_fn = prepare(name, with_local_files(arguments, server.get_input_schema(name)[1]))
        _OUTPUTS.set(len(block_fn.outputs))
        if _LOCAL_COPIES.get():
            # Gradio's client uploads the files from 127.0.0.1 without the call's headers. Served publicly behind a
            # proxy, a job sent on for the visitor that proxy names would find them another's (upload_owners.py).
            headers.pop("x-forwarded-for", None)
        return endpoint, args, headers, block_fn

    async def without_progress(job) -> list:
        """The call's outputs, one each (Gradio's wraps an endpoint's several outputs, a tuple, as one)."""
        result = await anyio.to_thread.run_sync(job.result)
        return list(result) if _OUTPUTS.get() > 1 else [result]

    server.simplify_filedata_schema = files_as_strings
    server.get_fn_description = description
    server._prepare_tool_call_args = prepared
    server._execute_tool_without_progress = without_progress
    handlers = server.mcp_server.request_handlers
    handlers[CallToolRequest] = copying_files_first(server, handlers[CallToolRequest])


def files_as_strings(schema: dict) -> tuple[dict, list[list[str]]]:
    """A tool's input schema with each file or drawing parameter as one string, and where Gradio's value for it takes
    the file: [name] for a file, [name, "composite"] for a drawing."""
    properties, positions = {}, []
    for name, node in schema.get("properties", {}).items():
        defs = node.get("$defs", {}) if isinstance(node, dict) else {}
        if is_file(node, defs):
            positions.append([name])
            node = {**FILE_SCHEMA, **({"description": node["description"]} if "description" in node else {})}
        elif is_drawing(node, defs):  # its docstring entry describes the Sketchpad's value, which MCP does not take
            positions.append([name, "composite"])
            node = {**FILE_SCHEMA, "description": DRAWING_DESCRIPTION}
        properties[name] = node
    return {**schema, "properties": properties}, positions


def is_file(node, defs: dict) -> bool:
    """Whether a schema node is Gradio's FileData (by `$ref` or inline), or FileData or null."""
    if not isinstance(node, dict):
        return False
    if "anyOf" in node:
        kinds = [part for part in node["anyOf"] if part != {"type": "null"}]
        return len(kinds) == 1 and is_file(kinds[0], defs)
    node = _resolved(node, defs)
    meta = _resolved(node.get("properties", {}).get("meta", {}), defs)
    return (meta.get("properties", {}).get("_type", {}).get("const") == "gradio.FileData"
            or meta.get("default", {}).get("_type") == "gradio.FileData")


def is_drawing(node, defs: dict) -> bool:
    """Whether a schema node is an image editor's value (a Sketchpad's): its `composite` is a file."""
    return isinstance(node, dict) and is_file(node.get("properties", {}).get("composite"), defs)


def _resolved(node: dict, defs: dict) -> dict:
    reference = node.get("$ref", "")
    return defs.get(reference.removeprefix("#/$defs/"), {}) if reference.startswith("#/$defs/") else node


def whole_arguments(fn) -> dict[str, str]:
    """Each argument's whole entry in the docstring's `Args:` (Gradio keeps an entry's first line only)."""
    section = (inspect.getdoc(fn) or "").partition("\nArgs:\n")[2].split("\n\n")[0]
    entries = re.findall(r"^ {4}(\w+): (.*(?:\n {5,}.*)*)", section, flags=re.MULTILINE)
    return {name: " ".join(text.split()) for name, text in entries}


def with_local_files(arguments: dict, positions: list[list[str]]) -> dict:
    """The arguments with each file string as the file object of its local copy (a drawing's as the Sketchpad's
    value), which Gradio's client uploads."""
    copies, arguments = _LOCAL_COPIES.get() or {}, dict(arguments)
    for name, *composite in positions:
        value = arguments.get(name)
        if isinstance(value, str):
            if value not in copies:
                raise Refusal("mcp_not_a_file", name=name)
            file = handle_file(copies[value])
            arguments[name] = {"background": None, "layers": [], "composite": file} if composite else file
    return arguments


def copying_files_first(server, answer):
    """The tools/call handler `answer`, run once each file string of the call has a local copy (the call's own
    folder, deleted after it): what goes wrong on the way is the call's error, in the client's language."""
    from mcp.types import CallToolResult, ServerResult, TextContent

    async def answer_with_copies(request):
        tool, arguments = request.params.name, request.params.arguments or {}
        if tool not in server.tool_to_endpoint:
            return await answer(request)  # Gradio's own words for a tool it does not have
        files = {path[0]: arguments.get(path[0]) for path in server.get_input_schema(tool)[1]}
        with tempfile.TemporaryDirectory(prefix="mcp-") as folder:
            try:
                copies = {value: await local_copy(name, value, Path(folder))
                          for name, value in files.items() if isinstance(value, str)}
            except Refusal as refusal:
                asked = server.mcp_server.request_context.request
                text = refusal.text(language_of_header(asked.headers.get("accept-language") if asked else None))
                return ServerResult(CallToolResult(content=[TextContent(type="text", text=text)], isError=True))
            known = _LOCAL_COPIES.set(copies)
            try:
                return await answer(request)
            finally:
                _LOCAL_COPIES.reset(known)

    return answer_with_copies


async def local_copy(name: str, value: str, folder: Path) -> str:
    """The path of a copy of the file a `data:` URI holds, in `folder`."""
    if not value.startswith("data:"):
        raise Refusal("mcp_not_a_file", name=name)
    try:
        return await anyio.to_thread.run_sync(save_base64_to_cache, value, str(folder))
    except (ValueError, TypeError, binascii.Error):
        raise Refusal("mcp_not_a_file", name=name) from None
