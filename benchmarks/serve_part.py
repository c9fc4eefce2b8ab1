"""The hub with NER in-process against the hub with NER on Ray Serve (serve/), 1 and 2 replicas, on the
default-size BERT-base NER (random weights, offline): requests per second at 8 clients, and the remote hop's cost
at 1 client (p50 latency, hub on Serve / hub in-process, and a worker called directly).

    python benchmarks/serve_part.py [--rounds 3] [--json benchmarks/results-cpu.json]
    REPLICA_THREADS=1 python benchmarks/serve_part.py   # Ray's own default for a replica of num_cpus 0.1

Three hubs and a local Ray cluster (127.0.0.1) are up at once, called by the same light client (http_client.py),
interleaved burst by burst and request by request. On a 2-core machine two replicas share the cores the one
replica already used: this measures the hop and the queueing, not what a second machine's cores would add.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from benchmarks.http_client import HttpClient, burst  # noqa: E402
from benchmarks.serving import free_port, serve, stop  # noqa: E402
from benchmarks.timing import keep_figures  # noqa: E402

SETUPS = ("in_process", "serve_1_replica", "serve_2_replicas")
START_TIMEOUT_S = 600
LATENCY_SECONDS, BURST_SECONDS = 240, 60


def start_serve(model: Path) -> str:
    """NER on Serve twice: /ner1 with one replica, /ner2 with two; the cluster's base URL."""
    import ray
    from ray import serve as ray_serve

    from serve.workers import build

    # Ray gives a replica as many OpenMP threads as its num_cpus (at least 1): a replica of 0.1 CPU would compute
    # on one thread where the hub in-process uses every core. Given the same threads, the comparison is the hop's.
    threads = threads_of_replicas()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": threads}})
    port = free_port()
    ray_serve.start(http_options={"host": "127.0.0.1", "port": port})
    for replicas in (1, 2):
        ray_serve.run(build({"task": "ner", "model": str(model), "num_replicas": replicas, "num_cpus": 0.1}),
                      name=f"ner{replicas}", route_prefix=f"/ner{replicas}", blocking=False)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not all(app.status == "RUNNING" for app in ray_serve.status().applications.values()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"Serve did not start: {ray_serve.status().applications}")
        time.sleep(2)
    return f"http://127.0.0.1:{port}"


def threads_of_replicas() -> str:
    return os.environ.get("REPLICA_THREADS", str(os.cpu_count()))


def start_hub(backend: str | None, model: Path) -> tuple:
    port = free_port()
    command = [sys.executable, "app.py", "--port", str(port), "--result-cache-mb", "0"]
    command += ["--backend", f"ner={backend}"] if backend else ["--model", f"ner={model}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "0" if backend else "1"}  # offline stops InferenceClient too
    process, _ = serve(command, port, timeout=START_TIMEOUT_S, env=env)
    return process, f"http://127.0.0.1:{port}/"


def worker_latency(url: str, text: str, rounds: int) -> float:
    """p50 seconds of the contract request sent to the worker itself (no hub)."""
    import httpx

    times = []
    with httpx.Client(timeout=120) as client:
        for _ in range(rounds + 1):
            started = time.perf_counter()
            client.post(url, json={"inputs": text, "parameters": {"aggregation_strategy": "simple"}}).raise_for_status()
            times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def measure(urls: dict[str, str], worker_url: str, rounds: int, clients: int, requests_per_client: int) -> dict:
    from engines import ner

    endpoint = ner.ENDPOINTS[0]
    call = ("/" + endpoint.api_name, endpoint.sample(""))
    single = {setup: HttpClient(url) for setup, url in urls.items()}
    pools = {setup: [HttpClient(url) for _ in range(clients)] for setup, url in urls.items()}
    times, rates = {setup: [] for setup in urls}, {setup: [] for setup in urls}
    try:
        for setup in urls:  # warm-up: the first request loads the model in-process, and concurrent shapes
            single[setup].predict(call[0], *call[1])
            burst(pools[setup], *call, 1, BURST_SECONDS)
        stop_at = time.monotonic() + LATENCY_SECONDS
        for round_ in range(rounds * 3):
            order = SETUPS[round_ % 3:] + SETUPS[:round_ % 3]
            for setup in order:
                started = time.perf_counter()
                single[setup].predict(call[0], *call[1])
                times[setup].append(time.perf_counter() - started)
            if time.monotonic() > stop_at:
                break
        for round_ in range(rounds):
            for setup in SETUPS[round_ % 3:] + SETUPS[:round_ % 3]:
                rates[setup].append(burst(pools[setup], *call, requests_per_client, BURST_SECONDS))
    finally:
        for client in [*single.values(), *(c for pool in pools.values() for c in pool)]:
            client.close()
    p50 = {setup: statistics.median(values) for setup, values in times.items()}
    rps = {setup: statistics.median(values) for setup, values in rates.items()}
    return {
        "p50_ms": {setup: round(1000 * value, 1) for setup, value in p50.items()},
        "worker_direct_p50_ms": round(1000 * worker_latency(worker_url, call[1][0], rounds * 3), 1),
        "hop_latency_ratio": round(p50["serve_1_replica"] / p50["in_process"], 3),
        "rps_at_clients": {setup: round(value, 2) for setup, value in rps.items()},
        "rps_per_round": {setup: [round(r, 2) for r in values] for setup, values in rates.items()},
        "throughput_ratio_1_replica": round(rps["serve_1_replica"] / rps["in_process"], 3),
        "throughput_ratio_2_replicas": round(rps["serve_2_replicas"] / rps["in_process"], 3),
    }


def run(rounds: int, clients: int, requests_per_client: int) -> dict:
    from default_size_models import ner_bert_base

    with tempfile.TemporaryDirectory() as tmp:
        model = ner_bert_base(Path(tmp) / "ner")
        base = start_serve(model)
        hubs = {}
        try:
            hubs = {"in_process": start_hub(None, model), "serve_1_replica": start_hub(f"{base}/ner1", model),
                    "serve_2_replicas": start_hub(f"{base}/ner2", model)}
            load = os.getloadavg()[0]
            result = measure({setup: url for setup, (_, url) in hubs.items()}, f"{base}/ner1", rounds, clients,
                             requests_per_client)
        finally:
            for process, _ in hubs.values():
                stop(process)
            import ray
            from ray import serve as ray_serve

            ray_serve.shutdown()
            ray.shutdown()
    return {**result, "replica_openmp_threads": int(threads_of_replicas()),
            "load_average": [round(load, 2), round(os.getloadavg()[0], 2)], "rounds": rounds,
            "clients": clients, "requests_per_client": requests_per_client, "cpu_count": os.cpu_count()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests-per-client", type=int, default=4)
    parser.add_argument("--json", type=Path, help="merge the figures into this file under the key 'serve'")
    args = parser.parse_args()
    results = run(args.rounds, args.clients, args.requests_per_client)
    print(json.dumps(results, indent=2))
    if args.json:
        keep_figures(args.json, "serve", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
