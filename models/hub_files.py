"""From a model source (hub id or local directory) to a local directory of vetted files."""
from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from models.ctranslate2_models import CTRANSLATE2_WEIGHTS
from models.errors import ModelLoadError, ModelUnavailableError, unavailable
from models.llama_cpp_models import gguf_file
from models.registry import BUNDLED, ModelSpec, is_local_path

# What a model directory needs besides its weights: configs, tokenizers, vocabularies.
SUPPORT_FILES = ["*.json", "*.txt", "*.model", "*.spm", "*.tiktoken", "merges*", "vocab*"]
SAFE_WEIGHTS = "*.safetensors"
PICKLE_WEIGHTS = "*.bin"
# Never fetched: diffusers' NSFW classifier (we load pipelines without it) and half-precision duplicates of
# weights we already fetch in full precision (the loaders cast to the device's dtype).
SKIPPED_FILES = ["safety_checker/*", "*.fp16.*"]
BUNDLED_WEIGHTS = Path(__file__).resolve().parent.parent / "assets" / "weights"


def _has(directory: Path, pattern: str) -> bool:
    return any(directory.rglob(pattern))  # pipelines keep their weights in one folder per component


def _usable_weights(directory: Path, pickle_ok: bool) -> bool:
    return _has(directory, SAFE_WEIGHTS) or (directory / CTRANSLATE2_WEIGHTS).is_file() or \
        gguf_file(directory) is not None or (pickle_ok and _has(directory, PICKLE_WEIGHTS))


def check_weights(directory: Path, spec: ModelSpec, allow_pickle: bool) -> None:
    if _usable_weights(directory, spec.trusted or allow_pickle):
        return
    if _has(directory, PICKLE_WEIGHTS):
        raise ModelLoadError("load_pickle_only", name=spec.name)
    raise ModelLoadError("load_no_weights", name=spec.name)


@contextlib.contextmanager
def _hub_errors(spec: ModelSpec):
    """The Hub's failures as plain words (and, where the Hub cannot be reached, the offline guidance)."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except GatedRepoError as error:
        raise ModelLoadError("load_gated", name=spec.name) from error
    except RepositoryNotFoundError as error:
        raise ModelLoadError("load_no_such_model", name=spec.name) from error
    except RevisionNotFoundError as error:
        raise ModelLoadError("load_no_such_revision", name=spec.name, revision=spec.revision) from error
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError, OSError) as error:
        raise unavailable(spec.task, spec.name, spec.default) from error


def _download(spec: ModelSpec, patterns: list[str], local_only: bool) -> Path:
    from huggingface_hub import snapshot_download

    with _hub_errors(spec):
        return Path(
            snapshot_download(
                spec.source, revision=spec.revision, allow_patterns=patterns, ignore_patterns=SKIPPED_FILES,
                local_files_only=local_only,
            )
        )


def sized_download(spec: ModelSpec, patterns: list[str], max_bytes: int | None) -> ModelSpec:
    """Typed-in ids are anyone's choice: their download is sized from the Hub's file list before it starts
    (nothing is fetched), refused over `max_bytes`, and then fetched at the commit that was sized, so the
    repository cannot grow in between. Trusted models come back as they are."""
    if spec.trusted or max_bytes is None:
        return spec
    from huggingface_hub import HfApi
    from huggingface_hub.utils import filter_repo_objects

    with _hub_errors(spec):
        info = HfApi().model_info(spec.source, revision=spec.revision, files_metadata=True)
    sizes = {file.rfilename: file.size or 0 for file in info.siblings or []}
    fetched = filter_repo_objects(sizes, allow_patterns=patterns, ignore_patterns=SKIPPED_FILES)
    size = sum(sizes[name] for name in fetched)
    if size > max_bytes:
        raise ModelLoadError("load_download_too_large", name=spec.name, size_gb=size / 2**30,
                             max_gb=max_bytes / 2**30)
    return replace(spec, revision=info.sha or spec.revision)


def in_local_cache(source: str) -> bool:
    """Whether a Hub model has a snapshot in the local Hugging Face cache (a directory check, no network)."""
    from huggingface_hub import constants

    snapshots = Path(constants.HF_HUB_CACHE) / f"models--{source.replace('/', '--')}" / "snapshots"
    return snapshots.is_dir() and any(snapshots.iterdir())


def bundled_dir(spec: ModelSpec) -> Path:
    """The directory of weights this project trained and ships (sources "assets:<name>")."""
    directory = BUNDLED_WEIGHTS / spec.source.removeprefix(BUNDLED)
    if not (directory / "model.safetensors").is_file():
        raise ModelLoadError("load_bundled_missing", source=spec.source)
    return directory


def resolve_model_dir(spec: ModelSpec, *, offline: bool, allow_pickle: bool, max_download_bytes: int | None = None
                      ) -> Path:
    """A local directory holding the model; downloads into the HF cache when allowed and needed (for typed-in
    ids, at most `max_download_bytes`)."""
    local = Path(spec.source).expanduser()
    if spec.trusted and local.is_dir():
        check_weights(local, spec, allow_pickle)
        return local
    if spec.trusted and is_local_path(spec.source):
        raise ModelLoadError("load_not_a_model_directory", name=spec.name)

    pickle_ok = spec.trusted or allow_pickle
    patterns = SUPPORT_FILES + [SAFE_WEIGHTS, CTRANSLATE2_WEIGHTS]
    # The local cache first: fast, and it works with no network at all.
    try:
        directory = _download(spec, patterns, local_only=True)
    except ModelUnavailableError:
        if offline:
            raise
        directory = _download(sized_download(spec, patterns, max_download_bytes), patterns, local_only=False)
    if not _usable_weights(directory, pickle_ok) and not offline:
        # A partial cache, or a repository without safetensors: fetch what is missing.
        patterns += [PICKLE_WEIGHTS] if pickle_ok else []
        directory = _download(sized_download(spec, patterns, max_download_bytes), patterns, local_only=False)
    check_weights(directory, spec, allow_pickle)
    return directory


