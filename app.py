"""Deep Learning Demo Hub: one Gradio app, one tab per classic deep-learning task.

`build_app()` only lays out the UI: it loads no model and touches no network. `main()` is the command
line; it is the only place that reads argv or the environment.

This module imports only light modules at its top: gradio, torch and the tabs take seconds to import, and
--help, --version, --list-models or a mistyped flag should answer at once. They are imported where they are used.
"""
from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import os
import socket
import sys
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from models.availability import download_failure, models_list, startup_summary
from models.errors import ModelLoadError, ModelUnavailableError
from models.registry import MODEL_SPECS, TASKS, TORCHVISION, ModelSpec, is_hub_id, is_local_path
from models.settings import DEVICE_CHOICES, Settings, zero_gpu

if TYPE_CHECKING:
    import gradio as gr

    from models.runtime import ModelRuntime

# The hub's version: the one place it is written (--version prints it).
__version__ = "0.1.0"
TITLE = "Deep Learning Demo Hub"
AUTH_ENV = "DEMO_HUB_AUTH"
QUEUE_MAX_SIZE = 64
# Every 10 minutes, uploads and results older than an hour leave the disk.
CACHE_CLEANING = (600, 3600)


def build_app(runtime: ModelRuntime | None = None) -> gr.Blocks:
    import gradio as gr
    from starlette.middleware import Middleware

    import demos
    from demos import models_panel
    from demos.i18n import translations, ui_text
    from http_guard import MB, GuardLimits, HttpGuard, mcp_tool_calls_log_in
    from models.runtime import ModelRuntime

    runtime = runtime or ModelRuntime()
    with gr.Blocks(title=TITLE, delete_cache=CACHE_CLEANING) as app:
        gr.Markdown(ui_text(
            "hub_intro",
            f"# {TITLE}\nClassic deep-learning tasks on real pretrained models. Each model loads on first use "
            f"(on `{runtime.device}`) and is then shared by every request.",
            f"# 深度学习演示中心\n在真实的预训练模型上体验经典的深度学习任务。每个模型在第一次使用时加载"
            f"（设备：`{runtime.device}`），之后所有请求共用。",
        ))
        with gr.Tabs():
            for tab in demos.TABS:
                with gr.Tab(ui_text(f"tab_{tab.TASK}", tab.TITLE, tab.TITLE_ZH), id=tab.TASK):
                    tab.build(runtime)
            models_panel.build(runtime)
    app.queue(max_size=QUEUE_MAX_SIZE)
    # Gradio takes these at launch; binding them here means every launch (CLI, tests) has them.
    settings, i18n, launch = runtime.settings, translations(), app.launch
    limits = GuardLimits(max_upload_bytes=settings.max_upload_mb * MB, public=settings.public,
                         behind_proxy=settings.behind_proxy)

    def launch_with_limits(*args, **kwargs):
        kwargs.setdefault("i18n", i18n)
        kwargs.setdefault("max_file_size", settings.max_upload_mb * MB)
        app_kwargs = dict(kwargs.get("app_kwargs") or {})  # a new dict each time: Gradio adds its own entries
        app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), Middleware(HttpGuard, limits=limits)]
        app_kwargs.setdefault("lifespan", mcp_tool_calls_log_in)
        return launch(*args, **{**kwargs, "app_kwargs": app_kwargs})

    app.launch = launch_with_limits
    return app


def _model_override(text: str) -> tuple[str, str]:
    task, sep, source = text.partition("=")
    source = source.strip()
    if not sep or not source:
        raise argparse.ArgumentTypeError(f"expected TASK=HUB_ID_OR_DIR, got {text!r}")
    if task not in TASKS:
        raise argparse.ArgumentTypeError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    # A mistyped directory would otherwise surface only when the tab first loads it, long after start-up.
    if is_local_path(source) and not Path(source).expanduser().is_dir():
        what = "is a file, not" if Path(source).expanduser().exists() else "does not exist; it should be"
        raise argparse.ArgumentTypeError(
            f"{source!r} {what} a model directory (a Hugging Face model id is written owner/name)"
        )
    return task, source


def _auth(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError(f"expected USER:PASSWORD (in --auth or {AUTH_ENV})")
    return user, password


def _download_target(text: str) -> str:
    torchvision_source = text.startswith(TORCHVISION) and text.count(":") == 2
    if text not in TASKS and not is_hub_id(text) and not torchvision_source:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a task ({', '.join(TASKS)}) nor a model id (owner/name, or "
            f"{TORCHVISION}ARCHITECTURE:WEIGHTS)"
        )
    return text


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535 (in --port or GRADIO_SERVER_PORT), "
                                         f"got {text!r}")
    return port


def build_parser() -> argparse.ArgumentParser:
    """Every option, each with a help text that gives its default."""
    # A short usage line: argparse's own lists every option, which buries the one-line error under it.
    parser = argparse.ArgumentParser(
        prog="python app.py", usage="%(prog)s [options]",
        description=f"{TITLE}: one web app, one tab per classic deep-learning task, on real pretrained models.",
    )
    parser.add_argument(
        "--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        help="the address to serve on: 127.0.0.1 is this machine only, 0.0.0.0 every network it is on "
        "(default: %(default)s; or set GRADIO_SERVER_NAME)",
    )
    # A string default goes through type= like a typed value: a bad GRADIO_SERVER_PORT is a plain usage error.
    parser.add_argument("--port", type=_port, default=os.environ.get("GRADIO_SERVER_PORT", "7860"),
                        help="the port to serve on (default: %(default)s; or set GRADIO_SERVER_PORT)")
    parser.add_argument("--share", action="store_true", help="also serve on a public gradio.live link")
    parser.add_argument(
        # Never %(default)s here: it would print the password from the environment. (argparse checks a string
        # default with type=, so a malformed DEMO_HUB_AUTH is a usage error too.)
        "--auth", type=_auth, default=os.environ.get(AUTH_ENV), metavar="USER:PASSWORD",
        help=f"ask for this login (default: no login; or set {AUTH_ENV}=USER:PASSWORD)",
    )
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                        help="where models run; auto picks cuda, then mps, then cpu (default: %(default)s)")
    parser.add_argument(
        "--model", type=_model_override, action="append", default=[], metavar="TASK=HUB_ID_OR_DIR",
        help=f"replace a tab's default model with a Hub model id or a local model directory, for any of the tasks "
        f"{', '.join(TASKS)}; repeatable (default: the models --list-models marks with *)",
    )
    parser.add_argument("--preload", action="store_true",
                        help="load every tab's default model at start instead of on first use")
    parser.add_argument(
        "--download", nargs="*", type=_download_target, metavar="TASK_OR_MODEL_ID",
        help="download these tasks' default models, or these models, then exit (default when none is named: "
        "every task's default model); Hub models go to the Hugging Face cache, torchvision weights to torch's",
    )
    parser.add_argument("--list-models", action="store_true",
                        help="list every task's models, their sizes and whether they are on this machine, then exit")
    parser.add_argument("--version", action="store_true",
                        help="print the versions of this hub, gradio, transformers and torch, then exit")
    parser.add_argument("--offline", action="store_true",
                        help="never touch the network: models come from the local caches or --model directories")
    parser.add_argument("--mcp", action="store_true", help="also serve every tab as a tool for LLM agents (MCP)")
    parser.add_argument("--no-custom-models", action="store_true", help="hide the field for typed-in model ids")
    parser.add_argument(
        "--allow-custom-models", action="store_true",
        help="keep typed-in model ids when served publicly (--share, Spaces, a non-local --host; off there by default)",
    )
    parser.add_argument("--max-custom-model-gb", type=float, default=5.0, metavar="GB",
                        help="the largest download a typed-in model id may cause (default: %(default)g GB)")
    parser.add_argument("--allow-pickle", action="store_true", help="accept .bin (pickle) weights for typed-in ids")
    parser.add_argument(
        "--max-loaded-models", type=int, default=3, metavar="N",
        help="how many models stay loaded; the least recently used is unloaded first (default: %(default)s)",
    )
    parser.add_argument("--memory-budget-gb", type=float, default=None, metavar="GB",
                        help="unload the least recently used models beyond this much model memory (default: no limit)")
    parser.add_argument("--max-upload-mb", type=int, default=50, metavar="MB",
                        help="the largest upload accepted (default: %(default)s MB)")
    parser.add_argument("--device-concurrency", type=int, default=1, metavar="N",
                        help="model requests that run at once on the device (default: %(default)s)")
    parser.add_argument(
        "--max-batch-size", type=int, default=8, metavar="N",
        help="image classification and NER requests that wait together run as one batch of up to N "
        "(default: %(default)s; 1: off)",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if os.environ.get("SPACE_ID"):  # on Hugging Face Spaces: bind as Spaces expects; it gives the public URL
        args.host, args.share = "0.0.0.0", False
    if zero_gpu() is not None:  # ZeroGPU's rule: models are placed on CUDA at start, a GPU is lent per call
        args.device, args.preload = "cuda", True
    return args


def version_text() -> str:
    """This hub's version and those of the libraries that shape what it does, read without importing them."""
    from importlib import metadata

    libraries = []
    for package in ("gradio", "transformers", "torch"):
        try:
            libraries.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            libraries.append(f"{package} not installed")
    return f"{TITLE} {__version__} ({', '.join(libraries)})"


def is_public(args: argparse.Namespace) -> bool:
    """Whether strangers can reach the app: a share link, or an address beyond this machine (Spaces bind 0.0.0.0)."""
    if args.share:
        return True
    try:
        return not ipaddress.ip_address(args.host.strip("[]")).is_loopback  # Gradio takes IPv6 as [::1]
    except ValueError:
        return args.host != "localhost"


def settings_from_args(args: argparse.Namespace) -> Settings:
    public = is_public(args)
    return Settings(
        device=args.device,
        model_overrides=MappingProxyType(dict(args.model)),
        offline=args.offline,
        # Strangers may not make the server download arbitrary models unless the operator allows it.
        custom_models=not args.no_custom_models and (not public or args.allow_custom_models),
        allow_pickle=args.allow_pickle,
        max_loaded_models=args.max_loaded_models,
        memory_budget_gb=args.memory_budget_gb,
        max_upload_mb=args.max_upload_mb,
        device_concurrency=args.device_concurrency,
        max_batch_size=args.max_batch_size,
        max_custom_model_gb=args.max_custom_model_gb,
        public=public,
        behind_proxy=args.share or bool(os.environ.get("SPACE_ID")),
        login_required=args.auth is not None,
    )


def download_models(runtime: ModelRuntime, targets: list[str]) -> int:
    from models.loaders import locate

    failures = 0
    for target in targets or list(TASKS):
        if target in TASKS:
            spec = runtime.configured_default(target)
        else:
            listed = [s for s in MODEL_SPECS if s.source == target]
            spec = listed[0] if listed else ModelSpec(task="", source=target, label=target, loader="")
        try:
            print(f"{spec.source} -> {locate(spec, offline=False, allow_pickle=False)}", flush=True)
        except ModelUnavailableError as error:
            print(f"{spec.source}: {download_failure(spec, error, runtime.settings)}", file=sys.stderr, flush=True)
            failures += 1
        except ModelLoadError as error:
            print(f"{spec.source}: {error}", file=sys.stderr, flush=True)
            failures += 1
    return 1 if failures else 0


def preload_defaults(runtime: ModelRuntime) -> None:
    """Load what can be loaded; a model that fails is reported and its tab explains it on use."""
    for task in TASKS:
        spec = runtime.default(task)
        if spec.gpu_recommended and runtime.device == "cpu":
            print(f"Not preloaded on a CPU: {spec.source} (GPU recommended; it loads on first use)", flush=True)
            continue
        print(f"Loading {task}: {spec.source} …", flush=True)
        try:
            runtime.load(spec)
        except ModelLoadError as error:
            print(f"Not preloaded: {error}", file=sys.stderr, flush=True)


def warn_if_open_to_strangers(args: argparse.Namespace, settings: Settings) -> None:
    if settings.public and not args.auth:
        logging.getLogger("demo_hub").warning(
            "Served publicly (%s) without --auth: anyone who reaches it can use this app and its compute. "
            "Add --auth USER:PASSWORD (or set %s).", "--share" if args.share else f"on {args.host}", AUTH_ENV
        )


def why_cannot_serve(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, in plain words; None when it could."""
    if ":" in host and not host.startswith("["):  # Gradio builds its URLs as host:port, and fails on a bare ::1
        return f"write an IPv6 address in brackets: --host [{host}]"
    try:
        family, kind, _, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        return f"--host {host} is not a name or address this machine knows"
    with socket.socket(family, kind) as probe:
        # As the server will: a port whose last connections are still closing (TIME_WAIT) can be listened on.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use; choose another with --port N (or stop what uses it)"
            if error.errno == errno.EACCES:
                return f"port {port} needs administrator rights here; choose one above 1023 with --port N"
            if error.errno == errno.EADDRNOTAVAIL:
                return (f"{host} is not an address of this machine; use --host 127.0.0.1 (this machine only) or "
                        f"--host 0.0.0.0 (every network it is on)")
            return f"cannot serve on {host}, port {port}: {error.strerror or error}"
    return None


def serve(app: gr.Blocks, args: argparse.Namespace) -> int:
    """Launch `app` and serve until Ctrl+C; 2, with one plain line, when the address cannot be had."""
    try:
        # quiet: Gradio's banner tells a programmer to set `share=True` in `launch()`; our own lines follow.
        app.launch(server_name=args.host, server_port=args.port, share=args.share, auth=args.auth,
                   mcp_server=args.mcp, quiet=True, prevent_thread_lock=True)
    except OSError:
        reason = why_cannot_serve(args.host, args.port)
        if reason is None:
            raise
        print(f"error: {reason}", file=sys.stderr)
        return 2
    print(f"Serving on {app.local_url} (Ctrl+C stops it)", flush=True)
    # Gradio prints the public link itself, quiet or not ("Running on public URL"), or why it could not make one.
    if not args.share and not os.environ.get("SPACE_ID"):
        print("Add --share for a public link.", flush=True)
    app.block_thread()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.version:
        print(version_text())
        return 0
    if args.list_models:
        print(models_list(dict(args.model)))
        return 0
    serving = args.download is None
    # Before the seconds of imports and model loading (--preload: minutes) that a taken port would waste.
    reason = why_cannot_serve(args.host, args.port) if serving else None
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per internal HTTP call drowns the log
    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = True  # read once at import, and something may have imported it already
    from models.runtime import ModelRuntime

    try:
        runtime = ModelRuntime(settings_from_args(args))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not serving:
        return download_models(runtime, args.download)
    warn_if_open_to_strangers(args, runtime.settings)
    print(startup_summary(runtime), flush=True)
    if args.preload:
        preload_defaults(runtime)
    return serve(build_app(runtime), args)


if __name__ == "__main__":
    sys.exit(main())
