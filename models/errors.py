"""Errors a person can act on. Their messages are shown in the UI as they are, so they are plain words."""
from models.registry import TORCHVISION


def quoted(value: object, limit: int = 100) -> str:
    """A client's value as a message may repeat it: cut short, and without what UTF-8 cannot carry (lone
    surrogates), since answers are sent as UTF-8 JSON."""
    return str(value)[:limit].encode("utf-8", "replace").decode("utf-8")


class ModelLoadError(RuntimeError):
    """A model could not be loaded (bad id, corrupt or refused weights...). `chinese`: the same in Chinese."""

    def __init__(self, message: str, chinese: str | None = None):
        super().__init__(message)
        self.chinese = chinese


class ModelUnavailableError(ModelLoadError):
    """The model is not on this machine and where it comes from (the Hub, download.pytorch.org) cannot be reached."""


def unavailable(task: str, source: str, is_default: bool) -> ModelUnavailableError:
    """The offline guidance: which model is missing, where it comes from, and the three ways to get it."""
    target = task if is_default else source
    # torchvision's weights come from download.pytorch.org into torch's hub cache, not from the Hugging Face Hub.
    # The folders are named as their defaults are, never as this server has them: clients see these messages.
    if source.startswith(TORCHVISION):
        site, site_zh = "download.pytorch.org", "download.pytorch.org"
        cache = "torch hub cache (~/.cache/torch/hub/checkpoints, or $TORCH_HOME/hub/checkpoints)"
        cache_zh = "torch hub 缓存（~/.cache/torch/hub/checkpoints，或 $TORCH_HOME/hub/checkpoints）"
    else:
        site, site_zh = "the Hugging Face Hub", "Hugging Face Hub"
        cache = "Hugging Face cache (~/.cache/huggingface/hub, or $HF_HOME/hub)"
        cache_zh = "Hugging Face 缓存（~/.cache/huggingface/hub，或 $HF_HOME/hub）"
    return ModelUnavailableError(
        f"The model '{source}' is not on this machine and {site} cannot be reached "
        f"(no network, or offline mode). To get it: run `python app.py --download {target}` on a machine "
        f"with network and copy its {cache} to the same place here, or point this "
        f"tab at a local copy with `python app.py --model {task}=/path/to/model`.",
        f"本机没有模型“{source}”，且无法连接 {site_zh}（无网络或离线模式）。获取方法：在有网络的机器上运行 "
        f"`python app.py --download {target}`，再把它的 {cache_zh}复制到本机的同一位置；"
        f"或用 `python app.py --model {task}=/path/to/model` 指向本地副本。",
    )
