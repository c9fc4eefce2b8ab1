"""The command line: what each option means, its checks (a mistyped value is a usage error at once), and the
settings it makes. Light: it imports neither gradio nor torch."""
from __future__ import annotations

import argparse
import ipaddress
import os
from pathlib import Path
from types import MappingProxyType

from models.backends import ALL_TASKS, DEFAULT_TOKEN_ENV, is_backend_url, task_urls
from models.quantization import QUANTIZED_TASKS
from models.registry import TORCHVISION, is_hub_id, is_local_path
from models.settings import DEVICE_CHOICES, REQUEST_TIMEOUT_S, Settings, zero_gpu
from tasks import TASK_KEYS, TASKS

TITLE = "Deep Learning Demo Hub"
AUTH_ENV = "DEMO_HUB_AUTH"
BACKENDS_ENV = "DEMO_HUB_BACKENDS"  # "TASK=URL TASK=URL", as --backend takes them


def _model_override(text: str) -> tuple[str, str]:
    task, sep, source = text.partition("=")
    source = source.strip()
    if not sep or not source:
        raise argparse.ArgumentTypeError(f"expected TASK=HUB_ID_OR_DIR, got {text!r}")
    if task not in TASK_KEYS:
        raise argparse.ArgumentTypeError(f"unknown task {task!r}; tasks: {', '.join(TASK_KEYS)}")
    # A mistyped directory would otherwise surface only when the tab first loads it, long after start-up.
    if is_local_path(source) and not Path(source).expanduser().is_dir():
        what = "is a file, not" if Path(source).expanduser().exists() else "does not exist; it should be"
        raise argparse.ArgumentTypeError(
            f"{source!r} {what} a model directory (a Hugging Face model id is written owner/name)"
        )
    return task, source


def _backend(text: str) -> tuple[str, str]:
    task, sep, url = text.partition("=")
    url = url.strip()
    if not sep or task not in (*TASK_KEYS, ALL_TASKS):
        raise argparse.ArgumentTypeError(f"expected TASK=URL, TASK one of {ALL_TASKS}, {', '.join(TASK_KEYS)}; "
                                         f"got {text.split('=')[0]!r}")
    if not is_backend_url(url):
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL after {task}=")
    return task, url


def _auth(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError(f"expected USER:PASSWORD (in --auth or {AUTH_ENV})")
    return user, password


def _download_target(text: str) -> str:
    torchvision_source = text.startswith(TORCHVISION) and text.count(":") == 2
    if text not in TASK_KEYS and not is_hub_id(text) and not torchvision_source:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a task ({', '.join(TASK_KEYS)}) nor a model id (owner/name, or "
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
    """Every option, each with a help text that gives its default: where and how it serves, then its models."""
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
    _model_options(parser)
    return parser


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                        help="where models run; auto picks cuda, then mps, then cpu (default: %(default)s)")
    parser.add_argument(
        "--model", type=_model_override, action="append", default=[], metavar="TASK=HUB_ID_OR_DIR",
        help=f"replace a tab's default model with a Hub model id or a local model directory, for any of the tasks "
        f"{', '.join(TASK_KEYS)}; repeatable (default: the models --list-models marks with *)",
    )
    parser.add_argument(
        "--backend", type=_backend, action="append", default=[], metavar="TASK=URL",
        help="run a task's model on a remote engine: text_generation on any OpenAI-compatible server (vLLM, "
        "llama.cpp, Ollama...), the others on the Hugging Face Inference API's contract (Inference Endpoints, "
        f"our serve/); all=URL: every task at URL/TASK; repeatable (default: none; or set {BACKENDS_ENV}="
        "'TASK=URL ...')",
    )
    parser.add_argument(
        "--backend-token-env", default=DEFAULT_TOKEN_ENV, metavar="NAME",
        help="the environment variable holding the token sent to the engines (default: %(default)s)",
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
        "--request-timeout-s", type=_positive_seconds, default=REQUEST_TIMEOUT_S, metavar="S",
        help="a request's model work stops after this long and says so (default: %(default)g s)",
    )
    parser.add_argument(
        "--max-batch-size", type=int, default=8, metavar="N",
        help=f"requests of a batched tab ({', '.join(task.key for task in TASKS if task.batched)}) "
        "waiting together run as one batch of up to N (default: %(default)s; 1: off)",
    )
    parser.add_argument(
        "--quantize", choices=["none", "int8"], default="none",
        help=f"int8: on a CPU, the models of {', '.join(QUANTIZED_TASKS)} run with int8 weights (faster, smaller; "
        "see README for how much and how close); a GPU keeps half precision (default: %(default)s)",
    )
    parser.add_argument(
        "--no-ctranslate2", action="store_true",
        help=f"run the models of {', '.join(task.key for task in TASKS if task.converts)} on PyTorch, as published, "
        "instead of converting them once to CTranslate2 (int8 on a CPU, float16 on a GPU; several times faster on a "
        "CPU: see README)",
    )
    parser.add_argument(
        "--result-cache-mb", type=_megabytes, default=None, metavar="MB",
        help="keep the answers of repeated identical requests (of the tabs whose answer is the same for the same "
        "input) in this much memory, and answer them without the model (default: 64; "
        "0 when served publicly, where a fast answer tells a visitor that someone sent the same input; 0: off)",
    )


def _megabytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1_000_000:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected a size in MB from 0 to 1000000, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86_400:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected seconds above 0 and at most 86400, got {text!r}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:  # the environment's backends first: the command line's win for the same task
        args.backend = [_backend(item) for item in os.environ.get(BACKENDS_ENV, "").split()] + args.backend
    except argparse.ArgumentTypeError as error:
        parser.error(f"{BACKENDS_ENV}: {error}")
    if args.backend and args.offline:
        parser.error("--offline stops every call huggingface_hub makes, the remote engines' too: use one or the "
                     "other")
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
        request_timeout_s=args.request_timeout_s,
        max_custom_model_gb=args.max_custom_model_gb,
        public=public,
        behind_proxy=args.share or bool(os.environ.get("SPACE_ID")),
        login_required=args.auth is not None,
        result_cache_mb=args.result_cache_mb,
        quantize=args.quantize,
        ctranslate2=not args.no_ctranslate2,
        backends=MappingProxyType(task_urls(dict(args.backend), TASK_KEYS)),
        backend_token_env=args.backend_token_env,
    )
