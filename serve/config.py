"""Ray Serve's config for every task of the hub, made from the task records, so a new task is served without
editing it:

    python -m serve.config > serve.yaml && serve run serve.yaml    # every task at http://127.0.0.1:8000/<task>

Each task's args (serve/workers.py: build): `model` (a Hub id or a directory; default: the task's default model),
`num_replicas` (a number, or "auto" to scale with the load), `num_cpus` and `num_gpus` per replica (fractions
allowed: num_gpus 0.5 shares a GPU between two replicas), `device`, `max_batch_size`, `request_timeout_s`. Edit
the file it writes: remove the tasks you do not serve, size the others (README's "Scaling out").
"""
from __future__ import annotations

from tasks import TASKS

HEADER = """\
# Every task of the hub as a Ray Serve application at http://127.0.0.1:8000/<task>; then
# `python app.py --backend all=http://127.0.0.1:8000`. Made by `python -m serve.config` from tasks.py.
# Ray gives a replica as many torch (OpenMP) threads as its num_cpus, at least one: 0.1 fits every task on one
# small machine, a thread each; give a busy task whole CPUs (num_cpus: 4), and the heavy ones num_gpus on a GPU node.
proxy_location: EveryNode
http_options:
  host: 127.0.0.1  # 0.0.0.0 to take requests from other machines (the hub on a CPU node, say)
  port: 8000
applications:
"""
HEAVY_MB = 900  # a default model this large (or one that wants a GPU) is said to belong on a GPU node


def config_yaml() -> str:
    lines = [HEADER.rstrip("\n")]
    for task in TASKS:
        heavy = task.default.gpu_recommended or task.default.size_mb >= HEAVY_MB
        lines += [f"  - name: {task.key}",
                  f"    route_prefix: /{task.key}",
                  "    import_path: serve.workers:build",
                  f"    args: {{task: {task.key}, num_replicas: auto, num_cpus: 0.1}}"
                  + ("  # on a GPU node: {num_cpus: 1, num_gpus: 1}" if heavy else "")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(config_yaml(), end="")
