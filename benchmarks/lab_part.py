"""`--only lab`: the optimisation lab's table for each of its models at the default size, every technique.

The digit CNN and its student are the weights we ship, so their accuracy is real; the image classifier and
the sentiment model are the default architectures with random weights (default_size_models.py): their sizes
and latencies are real, their agreement figures say little. A run here has no time limit (the tab's is
optimisation.BUDGET_S), so every variant gets all its timed runs.
"""
from __future__ import annotations

import math
import time


def lab(models: dict, repeats: int) -> dict:
    from demos import optimisation
    from engines.runtime import ModelRuntime
    from models.settings import Settings

    runtime = ModelRuntime(Settings(model_overrides={task: str(models[task])
                                                     for task in ("image_classification", "sentiment")}))
    budget, optimisation.BUDGET_S = optimisation.BUDGET_S, math.inf
    try:
        results = {}
        for subject in ("digits", "image_classification", "sentiment"):
            *_, run = optimisation.measured(runtime, subject, list(optimisation.TECHNIQUES), 50, repeats)
            results[subject] = {"table": run.table().to_dict(orient="records"), "quality_by_share_pruned": run.sweep,
                                "seconds": round(time.monotonic() - run.started, 1)}
            runtime.unload()
        return results
    finally:
        optimisation.BUDGET_S = budget
