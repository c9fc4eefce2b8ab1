"""Deep Learning Demo Hub: one Gradio app, one tab per classic deep-learning task.

`build_app()` only lays out the UI: it loads no model and touches no network. `main()` is the command
line; it is the only place that reads argv or the environment.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from types import MappingProxyType

import gradio as gr

import demos
from demos import models_panel
from models.device import DEVICE_CHOICES
from models.registry import TASKS
from models.runtime import ModelRuntime
from models.settings import Settings

TITLE = "Deep Learning Demo Hub"
AUTH_ENV = "DEMO_HUB_AUTH"
QUEUE_MAX_SIZE = 64


def build_app(runtime: ModelRuntime | None = None) -> gr.Blocks:
    runtime = runtime or ModelRuntime()
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(
            f"# {TITLE}\nClassic deep-learning tasks on real pretrained models. Each model loads on first "
            f"use (on `{runtime.device}`) and is then shared by every request."
        )
        with gr.Tabs():
            for tab in demos.TABS:
                with gr.Tab(tab.TITLE, id=tab.TASK):
                    tab.build(runtime)
            models_panel.build(runtime)
    app.queue(max_size=QUEUE_MAX_SIZE)
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
        "--download", nargs="*", choices=list(TASKS), metavar="TASK",
        help="download the default models of these tasks (all with none named) into the HF cache, then exit",
    )
    parser.add_argument("--offline", action="store_true", help="never touch the network")
    parser.add_argument("--no-custom-models", action="store_true", help="hide the field for typed-in model ids")
    parser.add_argument("--allow-pickle", action="store_true", help="accept .bin (pickle) weights for typed-in ids")
    parser.add_argument("--max-loaded-models", type=int, default=3)
    parser.add_argument("--memory-budget-gb", type=float, default=None, help="unload models beyond this total")
    parser.add_argument("--max-upload-mb", type=int, default=50)
    args = parser.parse_args(argv)
    if isinstance(args.auth, str):  # from the environment, not yet checked
        args.auth = _auth(args.auth)
    return args


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(
        device=args.device,
        model_overrides=MappingProxyType(dict(args.model)),
        offline=args.offline,
        custom_models=not args.no_custom_models,
        allow_pickle=args.allow_pickle,
        max_loaded_models=args.max_loaded_models,
        memory_budget_gb=args.memory_budget_gb,
        max_upload_mb=args.max_upload_mb,
    )


def download_defaults(runtime: ModelRuntime, tasks: list[str]) -> None:
    from models.hub_files import download

    for task in tasks or list(TASKS):
        spec = runtime.default(task)
        print(f"{task}: {spec.source} -> {download(spec)}")


def preload_defaults(runtime: ModelRuntime) -> None:
    for task in TASKS:
        spec = runtime.default(task)
        print(f"Loading {task}: {spec.source} …", flush=True)
        runtime.load(spec)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
        download_defaults(runtime, args.download)
        return 0
    if args.preload:
        preload_defaults(runtime)
    app = build_app(runtime)
    app.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        auth=args.auth,
        max_file_size=f"{args.max_upload_mb}mb",
        theme=gr.themes.Soft(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
