"""The layers import only downwards: messages/ <- models/ <- tasks.py <- engines/ <- serve/, web/, demos/ <- app.py.
Read from the source with ast (every import, at module level or inside a function), so an arrow the wrong way
fails here before it shows as a Ray worker importing Gradio or an import cycle."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("messages", "models", "engines", "serve", "web", "demos")
TOP_MODULES = ("tasks", "app", "command_line")
# What each layer may import of the project (besides itself); gradio is allowed in web/, demos/ and app.py only.
MAY_IMPORT = {
    "messages": set(),
    "models": {"messages"},
    "tasks": {"messages", "models"},
    "engines": {"messages", "models", "tasks"},
    "serve": {"messages", "models", "tasks", "engines"},
    "web": {"messages", "models", "tasks", "engines"},
    "demos": {"messages", "models", "tasks", "engines", "web"},
    "command_line": {"messages", "models", "tasks"},
    "app": {"messages", "models", "tasks", "engines", "web", "demos", "command_line"},
}
GRADIO_FREE = ("messages", "models", "tasks", "engines", "serve", "command_line")


def module_files() -> dict[str, Path]:
    files = {name: ROOT / f"{name}.py" for name in TOP_MODULES}
    for package in PACKAGES:
        for path in (ROOT / package).glob("*.py"):
            files[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return files


def imported(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it but under `if TYPE_CHECKING:` (never run), as a dotted name
    ("from engines import contract" -> engines.contract where that is a module, else engines)."""
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.body = []
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def layer(name: str) -> str:
    return name.split(".")[0]


FILES = module_files()
IMPORTS = {name: {n for n in imported(path) if n in FILES} for name, path in FILES.items()}


@pytest.mark.parametrize("name", sorted(FILES))
def test_imports_go_down_the_layers(name):
    upward = {n for n in IMPORTS[name] if layer(n) != layer(name) and layer(n) not in MAY_IMPORT[layer(name)]}
    assert not upward, f"{name} imports {sorted(upward)}: above its layer"


@pytest.mark.parametrize("name", sorted(n for n in FILES if layer(n) in GRADIO_FREE))
def test_engines_models_and_workers_never_import_gradio(name):
    gradio = {n for n in imported(FILES[name]) if n.split(".")[0] in ("gradio", "gradio_client")}
    assert not gradio, f"{name} imports {sorted(gradio)}"


def test_no_import_cycle():
    visiting, done, cycles = [], set(), []

    def visit(name):
        if name in done:
            return
        if name in visiting:
            cycles.append(visiting[visiting.index(name):] + [name])
            return
        visiting.append(name)
        for other in sorted(IMPORTS[name]):
            visit(other)
        visiting.pop()
        done.add(name)

    for name in sorted(FILES):
        visit(name)
    assert not cycles, f"import cycles: {cycles}"


def test_no_endpoint_asks_where_its_model_runs():
    """The runtime picks the engine's kind once; the tabs never branch on a remote engine."""
    asking = [f"{path.name}:{number}" for path in (ROOT / "demos").glob("*.py")
              for number, line in enumerate(path.read_text("utf-8").splitlines(), 1) if "runtime.remote(" in line]
    assert not asking


@pytest.mark.slow
def test_a_ray_worker_imports_no_gradio():
    code = ("import sys, serve.workers, serve.contract; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gradio', 'demos', 'web')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def numbers_in(path: Path) -> list[tuple[float, int]]:
    return [(node.value, node.lineno) for node in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(node, ast.Constant) and type(node.value) in (int, float)]


def test_the_time_limit_and_the_sampling_defaults_are_defined_once():
    """120 s (models/settings.py) and 0.7 / 0.9 (engines/generation.py's Sampling) are written once; argparse, the
    sliders, the endpoints, the remote engines and the workers read them. (256 tokens is checked where it is
    used: no function writes a default of its own for max_new_tokens.)"""
    found = {value: [f"{name}:{line}" for name, path in FILES.items() for number, line in numbers_in(path)
                     if number == value] for value in (120, 0.7, 0.9)}
    assert {value: len(places) for value, places in found.items()} == {120: 1, 0.7: 1, 0.9: 1}, found
    for name, path in FILES.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                positional = node.args.args[len(node.args.args) - len(node.args.defaults):]
                pairs = [*zip(positional, node.args.defaults), *zip(node.args.kwonlyargs, node.args.kw_defaults)]
                for argument, default in pairs:
                    if argument.arg in ("max_new_tokens", "temperature", "top_p", "request_timeout_s", "timeout_s"):
                        assert not isinstance(default, ast.Constant), f"{name}:{node.lineno} {argument.arg}"
