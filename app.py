"""Deep Learning Demo Hub: one Gradio app, one tab per classic deep-learning task.

`build_app()` only lays out the UI: it loads no model and touches no network. `main()` is the command
line; it is the only place that reads argv or the environment.

This module imports only light modules at its top: gradio, torch and the tabs take seconds to import, and
--help, --version, --list-models or a mistyped flag should answer at once. They are imported where they are used.
"""
from __future__ import annotations

import argparse
import errno
import logging
import os
import socket
import sys
from typing import TYPE_CHECKING

from command_line import AUTH_ENV, TITLE, is_public, parse_args, settings_from_args
from engines.availability import download_failure, models_list, startup_summary
from models.errors import ModelLoadError, ModelUnavailableError
from models.registry import ModelSpec
from models.settings import Settings
from tasks import TASK_KEYS, listed_spec

if TYPE_CHECKING:
    import gradio as gr

    from engines.runtime import ModelRuntime

# The hub's version: the one place it is written (--version prints it).
__version__ = "0.1.0"
QUEUE_MAX_SIZE = 64
# Every 10 minutes, uploads and results older than an hour leave the disk.
CACHE_CLEANING = (600, 3600)


def build_app(runtime: ModelRuntime | None = None) -> gr.Blocks:
    import gradio as gr
    from starlette.middleware import Middleware

    import demos
    from demos import models_panel
    from demos.i18n import translations, ui_text
    from demos.workbench import Workbench
    from engines.runtime import ModelRuntime
    from web.editor_blobs import bound_editor_blobs
    from web.http_guard import MB, GuardLimits, HttpGuard, mcp_tool_calls_log_in
    from web.login_page import LoginRefusalWords
    from web.mcp_files import with_mcp_file_tools
    from web.request_shape import RequestShape
    from web.upload_owners import OwnerBook, UploadOwners, example_files

    runtime = runtime or ModelRuntime()
    with gr.Blocks(title=TITLE, delete_cache=CACHE_CLEANING) as app:
        gr.Markdown(ui_text("hub_intro", device=runtime.device))
        workbench = Workbench(runtime)  # (its state outside the tabs: a Tabs' every child is a tab)
        with gr.Tabs() as workbench.tabs:
            building = workbench.open()
            try:
                for tab in demos.TABS:
                    with gr.Tab(ui_text(f"tab_{tab.TASK}"), id=tab.TASK):
                        workbench.tab = tab.TASK
                        tab.build(runtime)
                with gr.Tab(ui_text(f"tab_{demos.CHAIN.TASK}"), id=demos.CHAIN.TASK):
                    workbench.tab = demos.CHAIN.TASK
                    chain_inputs = demos.CHAIN.build(runtime)
            finally:
                workbench.close(building)
            with gr.Tab(ui_text("tab_history"), id="history") as history_tab:
                workbench.build_history(history_tab)
            with gr.Tab(ui_text("tab_optimisation"), id=demos.LAB.TASK):
                demos.LAB.build(runtime)
            models_panel.build(runtime)
        workbench.finish(app, chain_inputs)
    app.queue(max_size=QUEUE_MAX_SIZE)
    bound_editor_blobs(app, runtime.settings.behind_proxy)
    # Gradio takes these at launch; binding them here means every launch (CLI, tests) has them.
    settings, i18n, launch = runtime.settings, translations(), app.launch
    limits = GuardLimits(max_upload_bytes=settings.max_upload_mb * MB, public=settings.public,
                         behind_proxy=settings.behind_proxy)

    def launch_with_limits(*args, **kwargs):
        kwargs.setdefault("i18n", i18n)
        kwargs.setdefault("max_file_size", settings.max_upload_mb * MB)
        app_kwargs = dict(kwargs.get("app_kwargs") or {})  # a new dict each time: Gradio adds its own entries
        # HttpGuard first: RequestShape reads bodies, which HttpGuard has capped. Served publicly, uploads are
        # their visitor's: a book of owners for this launch, read by both the file routes and the events.
        book = OwnerBook(example_files(app), limits.max_new_files_per_hour) if settings.public else None
        owners = [Middleware(UploadOwners, book=book, behind_proxy=settings.behind_proxy)] if book else []
        app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), Middleware(HttpGuard, limits=limits),
                                    *owners, Middleware(RequestShape, blocks=app, owners=book,
                                                        behind_proxy=settings.behind_proxy),
                                    Middleware(LoginRefusalWords)]
        app_kwargs.setdefault("lifespan", with_mcp_file_tools(mcp_tool_calls_log_in))
        return launch(*args, **{**kwargs, "app_kwargs": app_kwargs})

    app.launch = launch_with_limits
    return app


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


def download_models(runtime: ModelRuntime, targets: list[str]) -> int:
    from models.loaders import locate

    failures = 0
    for target in targets or list(TASK_KEYS):
        if target in TASK_KEYS:
            spec = runtime.configured_default(target)
        else:
            spec = listed_spec(target) or ModelSpec(target, target)
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
    for task in TASK_KEYS:
        if runtime.remote(task) is not None:
            continue  # its engine loads it
        spec = runtime.default(task)
        if spec.gpu_recommended and runtime.device == "cpu":
            print(f"Not preloaded on a CPU: {spec.source} (GPU recommended; it loads on first use)", flush=True)
            continue
        print(f"Loading {task}: {spec.source} …", flush=True)
        try:
            runtime.load(spec)
        except ModelLoadError as error:
            print(f"Not preloaded: {error}", file=sys.stderr, flush=True)


def warn_if_open_to_strangers(args: argparse.Namespace, settings: Settings, share_url: str | None = None) -> None:
    """Once the app is served: public on its address (a Space, --host 0.0.0.0), or through a share link that was
    made (`share_url`; without a network --share makes none, and nobody else can reach the app)."""
    on_address = is_public(argparse.Namespace(**{**vars(args), "share": False}))
    if settings.public and not args.auth and (on_address or share_url):
        logging.getLogger("demo_hub").warning(
            "Served publicly (%s) without --auth: anyone who reaches it can use this app and its compute. "
            "Add --auth USER:PASSWORD (or set %s).", f"on {args.host}" if on_address else share_url, AUTH_ENV
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


def serve(app: gr.Blocks, args: argparse.Namespace, settings: Settings) -> int:
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
    warn_if_open_to_strangers(args, settings, app.share_url)
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
    for client in ("httpx", "httpx2"):  # one line per internal HTTP call drowns the log (huggingface_hub's: httpx2)
        logging.getLogger(client).setLevel(logging.WARNING)
    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = True  # read once at import, and something may have imported it already
    from models.torch_threads import let_idle_torch_threads_sleep

    let_idle_torch_threads_sleep()  # before torch loads, below
    from engines.runtime import ModelRuntime

    try:
        runtime = ModelRuntime(settings_from_args(args))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not serving:
        return download_models(runtime, args.download)
    print(startup_summary(runtime), flush=True)
    if args.preload:
        preload_defaults(runtime)
    return serve(build_app(runtime), args, runtime.settings)


if __name__ == "__main__":
    sys.exit(main())
