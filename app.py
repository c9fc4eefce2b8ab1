"""Deep Learning Demo Hub: one Gradio app, one tab per classic deep-learning task.

`build_app()` only lays out the UI: it loads no model and touches no network. `main()` is the command
line; it is the only place that reads argv or the environment.
"""
from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from types import MappingProxyType

import gradio as gr
from starlette.middleware import Middleware

import demos
from demos import models_panel
from demos.i18n import translations, ui_text
from http_guard import MB, GuardLimits, HttpGuard, mcp_tool_calls_log_in
from models.device import DEVICE_CHOICES, zero_gpu
from models.errors import ModelLoadError
from models.registry import MODEL_SPECS, TASKS, ModelSpec, is_hub_id
from models.runtime import ModelRuntime
from models.settings import Settings

TITLE = "Deep Learning Demo Hub"
AUTH_ENV = "DEMO_HUB_AUTH"
QUEUE_MAX_SIZE = 64
# Every 10 minutes, uploads and results older than an hour leave the disk.
CACHE_CLEANING = (600, 3600)


def build_app(runtime: ModelRuntime | None = None) -> gr.Blocks:
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
    if not sep or not source.strip():
        raise argparse.ArgumentTypeError(f"expected TASK=HUB_ID_OR_DIR, got {text!r}")
    if task not in TASKS:
        raise argparse.ArgumentTypeError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    return task, source.strip()


def _auth(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def _download_target(text: str) -> str:
    if text not in TASKS and not is_hub_id(text):
        raise argparse.ArgumentTypeError(f"{text!r} is neither a task ({', '.join(TASKS)}) nor a Hub model id")
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--share", action="store_true", help="also serve on a public gradio.live link")
    parser.add_argument(
        "--auth", type=_auth, default=os.environ.get(AUTH_ENV), help=f"USER:PASSWORD (or set {AUTH_ENV})"
    )
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="default: cuda > mps > cpu")
    parser.add_argument(
        "--model", type=_model_override, action="append", default=[], metavar="TASK=HUB_ID_OR_DIR",
        help=f"the default model of a tab (repeatable); tasks: {', '.join(TASKS)}",
    )
    parser.add_argument("--preload", action="store_true", help="load every tab's default model at start")
    parser.add_argument(
        "--download", nargs="*", type=_download_target, metavar="TASK_OR_MODEL_ID",
        help="download these tasks' default models, or these Hub models (all defaults with none named) "
        "into the Hugging Face cache, then exit",
    )
    parser.add_argument("--offline", action="store_true", help="never touch the network")
    parser.add_argument("--mcp", action="store_true", help="also serve every tab as a tool for LLM agents (MCP)")
    parser.add_argument("--no-custom-models", action="store_true", help="hide the field for typed-in model ids")
    parser.add_argument(
        "--allow-custom-models", action="store_true",
        help="keep typed-in model ids when served publicly (--share, Spaces, a non-local --host; off there by default)",
    )
    parser.add_argument("--max-custom-model-gb", type=float, default=5.0,
                        help="the largest download a typed-in model id may cause (default 5 GB)")
    parser.add_argument("--allow-pickle", action="store_true", help="accept .bin (pickle) weights for typed-in ids")
    parser.add_argument("--max-loaded-models", type=int, default=3)
    parser.add_argument("--memory-budget-gb", type=float, default=None, help="unload models beyond this total")
    parser.add_argument("--max-upload-mb", type=int, default=50)
    parser.add_argument(
        "--device-concurrency", type=int, default=1, help="model requests that run at once on the device (default 1)"
    )
    parser.add_argument(
        "--max-batch-size", type=int, default=8,
        help="image classification and NER requests that wait together run as one batch of up to N (default 8; 1: off)",
    )
    args = parser.parse_args(argv)
    if isinstance(args.auth, str):  # from the environment, not yet checked
        args.auth = _auth(args.auth)
    if os.environ.get("SPACE_ID"):  # on Hugging Face Spaces: bind as Spaces expects; it gives the public URL
        args.host, args.share = "0.0.0.0", False
    if zero_gpu() is not None:  # ZeroGPU's rule: models are placed on CUDA at start, a GPU is lent per call
        args.device, args.preload = "cuda", True
    return args


def is_public(args: argparse.Namespace) -> bool:
    """Whether strangers can reach the app: a share link, or an address beyond this machine (Spaces bind 0.0.0.0)."""
    if args.share:
        return True
    try:
        return not ipaddress.ip_address(args.host).is_loopback
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per internal HTTP call drowns the log
    if args.offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = True  # read once at import, and gradio imported it already
    try:
        runtime = ModelRuntime(settings_from_args(args))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.download is not None:
        return download_models(runtime, args.download)
    warn_if_open_to_strangers(args, runtime.settings)
    if args.preload:
        preload_defaults(runtime)
    app = build_app(runtime)
    app.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        auth=args.auth,
        mcp_server=args.mcp,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
