"""Whether a model's files are already on this machine, told from the disk alone (no torch, no network), and
the command line's reports of it: --list-models, the start-up summary, why --download failed. The command line
asks before it imports anything heavy."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import ModelLoadError, ModelUnavailableError
from models.hub_files import bundled_dir, in_local_cache
from models.registry import TORCHVISION, TORCHVISION_CHECKPOINTS, ModelSpec, download_size, is_local_path
from models.settings import Settings
from tasks import TASK_KEYS, default_spec, listed_spec, override_spec, specs_for

if TYPE_CHECKING:
    from engines.runtime import ModelRuntime


def torch_hub_dir() -> Path:
    """torch.hub.get_dir() without importing torch, by torch's own rule: $TORCH_HOME/hub, where TORCH_HOME
    defaults to $XDG_CACHE_HOME/torch and XDG_CACHE_HOME to ~/.cache. Only torch.hub.set_dir() could place it
    elsewhere, and nothing here calls it."""
    torch_home = os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return Path(os.path.expanduser(torch_home)) / "hub"


def torchvision_checkpoint(source: str) -> Path:
    """Where torch's hub cache keeps the weights of a source "torchvision:<architecture>:<weights>"."""
    name = TORCHVISION_CHECKPOINTS.get(source)
    if name is None:  # an operator's --model outside our table: only torchvision knows its file name
        from models.vision import weights_url

        name = weights_url(source).rsplit("/", 1)[-1]
    return torch_hub_dir() / "checkpoints" / name


def is_on_this_machine(spec: ModelSpec) -> bool:
    """Whether loading `spec` needs no download: the weights we ship, a local directory, torchvision weights in
    torch's hub cache, or a Hub model with a snapshot in the Hugging Face cache."""
    if spec.bundled:
        try:
            return bundled_dir(spec).is_dir()
        except ModelLoadError:
            return False
    if spec.source.startswith(TORCHVISION):
        try:
            return torchvision_checkpoint(spec.source).is_file()
        except (ModelLoadError, ValueError):  # weights torchvision does not have, or a malformed source
            return False
    if is_local_path(spec.source):
        return Path(spec.source).expanduser().is_dir()
    return in_local_cache(spec.source)


def _configured_default(task: str, overrides: Mapping[str, str]) -> ModelSpec:
    return override_spec(task, overrides[task]) if task in overrides else default_spec(task)


def _size(spec: ModelSpec) -> str:
    """The approximate download size from our table; "-" for a local directory (nothing to download), "?" for an
    operator's Hub id, whose size only the Hub knows."""
    if is_local_path(spec.source):
        return "-"
    size_mb = (listed_spec(spec.source) or spec).size_mb
    if not size_mb:
        return "?"
    return download_size(size_mb)


def _availability(spec: ModelSpec, download_target: str | None) -> str:
    """Whether `spec` is on this machine; when it is not, the command that fetches it (where one is given)."""
    if is_on_this_machine(spec):
        return "on this machine (bundled)" if spec.bundled else "on this machine"
    if is_local_path(spec.source):
        return "missing: no such directory"
    return f"not downloaded: python app.py --download {download_target}" if download_target else "not downloaded"


def _download_target_of(task: str, spec: ModelSpec, overrides: Mapping[str, str]) -> str:
    # `--download TASK` fetches the registry's default; an operator's own model is fetched by its id.
    return task if task not in overrides else spec.source


SIZE_COLUMN = 2


def _aligned(rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell, sizes right-aligned so that their units line up; the last column
    runs free."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]

    def padded(column: int, cell: str) -> str:
        return cell.rjust(widths[column]) if column == SIZE_COLUMN else cell.ljust(widths[column])

    return "\n".join("  ".join([*(padded(c, cell) for c, cell in enumerate(row[:-1])), row[-1]]).rstrip()
                     for row in rows)


def models_list(overrides: Mapping[str, str]) -> str:
    """--list-models: every task's models, its default (an operator's --model included) first and starred."""
    rows = [("task", "  model", "size", "status")]
    for task in TASK_KEYS:
        configured = _configured_default(task, overrides)
        others = [spec for spec in specs_for(task) if spec.source != configured.source]
        rows.append((task, f"* {configured.source}", _size(configured),
                     _availability(configured, _download_target_of(task, configured, overrides))))
        rows += [("", f"  {spec.source}", _size(spec), _availability(spec, None)) for spec in others]
    from huggingface_hub import constants

    return "\n".join([
        _aligned(rows),
        "",
        "* the task's default (--model TASK=HUB_ID_OR_DIR replaces it). Download any listed model with "
        "python app.py --download MODEL.",
        f"Hugging Face cache: {constants.HF_HUB_CACHE}",
        f"torchvision weights: {torch_hub_dir() / 'checkpoints'}",
    ])


def startup_summary(runtime: ModelRuntime) -> str:
    """One row per tab: its default model as configured, and whether it is here or how to get it."""
    overrides = runtime.settings.model_overrides
    rows = [("task", "default model", "size", "status")]
    for task in TASK_KEYS:
        backend = runtime.remote(task)
        if backend is not None:
            rows.append((task, backend.shown, "–", "on a remote engine (--backend)"))
            continue
        configured = runtime.configured_default(task)
        status = _availability(configured, _download_target_of(task, configured, overrides))
        in_use = runtime.default(task)
        if in_use.source != configured.source:  # the weights we ship stand in until the default is downloaded
            status += f" (until then the tab uses {in_use.source})"
        if configured.gpu_recommended and runtime.device == "cpu":
            status += "; GPU recommended: minutes per request on a CPU"
        rows.append((task, configured.source, _size(configured), status))
    heading = f"Each tab's default model (running on {runtime.device}; python app.py --list-models lists them all):"
    return f"{heading}\n{_aligned(rows)}"


def download_failure(spec: ModelSpec, error: ModelUnavailableError, settings: Settings) -> str:
    """Why --download could not fetch `spec`, and what to do here; never "run --download", which just failed."""
    from huggingface_hub import constants

    if settings.offline:
        return "not downloaded: --offline is on, so the network is not used. Run --download without --offline."
    if constants.HF_HUB_OFFLINE:
        variable = "HF_HUB_OFFLINE" if os.environ.get("HF_HUB_OFFLINE") else "TRANSFORMERS_OFFLINE"
        return (f"not downloaded: offline mode is on ({variable}={os.environ.get(variable)} in the environment), "
                f"so the network is not used. Unset {variable} to download.")
    if spec.source.startswith(TORCHVISION):
        site, settings_to_check = "download.pytorch.org", "the network connection and the proxy (HTTPS_PROXY)"
        cache = f"torch hub cache (~/.cache/torch/hub/checkpoints there) to {torch_hub_dir() / 'checkpoints'}"
    else:
        site = f"the Hugging Face Hub ({constants.ENDPOINT})"
        settings_to_check = "the network connection, the proxy (HTTPS_PROXY) and HF_ENDPOINT"
        cache = f"Hugging Face cache (~/.cache/huggingface/hub there) to {constants.HF_HUB_CACHE}"
    cause = error
    while cause.__cause__ is not None:  # the innermost failure says what went wrong: a name, a refusal, a timeout
        cause = cause.__cause__
    if isinstance(getattr(cause, "reason", None), BaseException):  # urllib's URLError wraps the socket's error
        cause = cause.reason
    detail = f" ({str(cause).splitlines()[0][:200]})" if cause is not error and str(cause) else ""
    return (f"could not be downloaded: {site} could not be reached from this machine{detail}. "
            f"Check {settings_to_check}; or download it on a machine with network and copy its {cache} on this one.")
