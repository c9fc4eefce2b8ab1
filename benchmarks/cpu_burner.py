"""Other work on the machine, on purpose: processes that keep CPU cores busy beside the apps being measured, as a
shared machine's neighbours do (a free Space's 2 vCPUs are shared), so that a figure "under load" can be made
again. Each burner ends on its own after `max_seconds`, whatever happens to the benchmark that started it."""
from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

_BURN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


@contextlib.contextmanager
def burning(processes: int, max_seconds: float) -> Iterator[None]:
    """`processes` busy loops (none: nothing) for as long as the block runs, at most `max_seconds`."""
    burners = [subprocess.Popen([sys.executable, "-c", _BURN, str(max_seconds)]) for _ in range(processes)]
    try:
        yield
    finally:
        for burner in burners:
            burner.terminate()
        for burner in burners:
            burner.wait(timeout=30)
