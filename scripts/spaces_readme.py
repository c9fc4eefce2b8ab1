"""The Hugging Face Spaces front matter at the top of README.md, generated from the task records (tasks.py).

    python scripts/spaces_readme.py          # rewrite README.md's front matter
    python scripts/spaces_readme.py --check  # exit 1 if it is out of date (the tests do this)
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.registry import is_hub_id  # noqa: E402
from tasks import TASKS  # noqa: E402

README = ROOT / "README.md"


def pinned(package: str) -> str:
    match = re.search(rf"^{package}==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    return match.group(1)


def front_matter() -> str:
    # The default model of every tab that comes from the Hub: Spaces downloads them at build time. Not the
    # GPU-recommended ones (gigabytes, and useless on the CPU hardware a Space may run on): they load on use.
    defaults = [task.default.source for task in TASKS
                if is_hub_id(task.default.source) and not task.default.gpu_recommended]
    lines = [
        "---",
        "title: Deep Learning Demo Hub",
        "emoji: 🧠",
        "colorFrom: indigo",
        "colorTo: pink",
        "sdk: gradio",
        f"sdk_version: {pinned('gradio')}",
        "app_file: app.py",
        'python_version: "3.11"',
        "suggested_hardware: t4-small",
        "short_description: Classic deep-learning tasks side by side on real models",
        "preload_from_hub:",
        *[f"  - {source}" for source in defaults],
        "---",
    ]
    return "\n".join(lines) + "\n"


def with_front_matter(readme: str) -> str:
    body = re.sub(r"\A---\n.*?\n---\n", "", readme, flags=re.S)
    return front_matter() + body


def main() -> int:
    current = README.read_text("utf-8")
    wanted = with_front_matter(current)
    if "--check" in sys.argv:
        if current != wanted:
            print("README.md's Spaces front matter is out of date: run python scripts/spaces_readme.py")
            return 1
        return 0
    README.write_text(wanted, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
