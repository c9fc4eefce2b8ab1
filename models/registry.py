"""A model as the hub knows it (ModelSpec) and the kinds of source it comes from. Which models each task offers
is in its record (tasks.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Sources "assets:<name>": weights this project trained itself, in assets/weights/<name>; they work offline.
BUNDLED = "assets:"
# How clients see an operator's --model directory: "local:<folder name>", never its path on the server.
LOCAL = "local:"
# Sources "remote:<URL>": a task's model on a remote engine (--backend), which says which model it is.
REMOTE = "remote:"
# Sources "torchvision:<architecture>:<weights>": weights from download.pytorch.org, kept in torch's hub cache.
TORCHVISION = "torchvision:"


@dataclass(frozen=True)
class ModelSpec:
    source: str  # a Hugging Face Hub id, or a local directory (only from the command line)
    label: str  # what the model picker shows
    size_mb: int = 0  # approximate download size, for the UI and the memory budget
    revision: str | None = None
    # Trusted sources (our table, the operator's --model) may fall back to pickle weights; ids typed
    # into the UI may not.
    trusted: bool = True
    default: bool = False
    pair: tuple[str, str] | None = None  # translation models made for one (source, target) language pair
    gpu_recommended: bool = False  # minutes per request on a CPU: not preloaded there, and the UI says so
    public_name: str = ""  # what clients see and send instead of the source, where the source is a server path
    task: str = ""  # the key of the task (tasks.py) whose record lists it; its loader is that task's

    @property
    def bundled(self) -> bool:
        return self.source.startswith(BUNDLED)

    @property
    def name(self) -> str:
        """The model as clients see it (pickers, API choices, messages) and name it in requests."""
        return self.public_name or self.source


# The file name each torchvision source of ours has in torch's hub cache (the last part of its download URL), so
# that the command line can tell whether it is downloaded without importing torchvision. A test holds it to
# torchvision's own URLs.
TORCHVISION_CHECKPOINTS = {
    "torchvision:resnet50:IMAGENET1K_V2": "resnet50-11ad3fa6.pth",
    "torchvision:mobilenet_v3_large:IMAGENET1K_V2": "mobilenet_v3_large-5c1a4163.pth",
    "torchvision:ssdlite320_mobilenet_v3_large:COCO_V1": "ssdlite320_mobilenet_v3_large_coco-a79551df.pth",
    "torchvision:fasterrcnn_mobilenet_v3_large_fpn:COCO_V1": "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth",
}

# owner/name, as the Hub spells repository ids; no "..", no leading "/" or "~", no scheme.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def is_hub_id(text: str) -> bool:
    return bool(_HUB_ID.match(text)) and ".." not in text


def is_local_path(source: str) -> bool:
    """Whether an operator's --model source means a place on this machine rather than a Hub id."""
    return source.startswith((".", "/", "~")) or Path(source).expanduser().exists()


def download_size(megabytes: int) -> str:
    """A table size as people read it: "430 MB", "4.3 GB"."""
    return f"{megabytes / 1000:.1f} GB" if megabytes >= 1000 else f"{megabytes} MB"
