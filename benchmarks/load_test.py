"""Load test: many concurrent clients, requests mixed across the tabs, against one running app on tiny models.

    python benchmarks/load_test.py [--clients 16] [--requests 200] [--json results.json] [--model TASK=SOURCE ...]

Reports errors (deliberate queue-full answers counted apart), p50/p95 latency per endpoint, and the server's
resident memory after the first half of the requests and after the last (a leak shows as growth).
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from benchmarks.serving import build_tiny_models, free_port, map_files, serve, stop  # noqa: E402


def start_server(models: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "app.py", "--offline", "--port", str(port), "--result-cache-mb", "0"]
    for task, path in models.items():
        command += ["--model", f"{task}={path}"]
    server, _ = serve(command, port)
    return server, f"http://127.0.0.1:{port}/"


def requests_for(models: dict[str, str]):
    """(endpoint, args) in a fixed mix: every endpoint's sample request (its Endpoint record), as a crowd of
    users would send them."""
    from gradio_client import handle_file

    import demos
    from tasks import override_spec

    names = {task: override_spec(task, source).name for task, source in models.items()}  # what clients send
    return [(f"/{endpoint.api_name}", map_files(endpoint.sample(names[endpoint.task]), lambda p: handle_file(str(p))))
            for tab in demos.TABS for endpoint in tab.ENDPOINTS if endpoint.sample]


def run(clients: int, total: int, given: dict[str, str] | None = None) -> dict:
    """`given`: task -> model to serve instead of building each task's tiny model."""
    import psutil
    from gradio_client import Client

    with tempfile.TemporaryDirectory() as tmp:
        models = given or build_tiny_models(Path(tmp))
        server, url = start_server(models)
        process = psutil.Process(server.pid)
        mix = requests_for(models)
        latencies: dict[str, list[float]] = {endpoint: [] for endpoint, _ in mix}
        errors, queue_full, rss = [], 0, {}
        counter = itertools.count()
        lock = threading.Lock()

        def user():
            nonlocal queue_full
            client = Client(url, verbose=False, download_files=False)
            while (n := next(counter)) < total:
                # by the shared counter alone, so every endpoint gets its share whatever the threads' timing
                endpoint, args = mix[n % len(mix)]
                started = time.perf_counter()
                try:
                    client.predict(*args, api_name=endpoint)
                    with lock:
                        latencies[endpoint].append(time.perf_counter() - started)
                except Exception as error:  # counted and reported, never hidden
                    with lock:
                        if "queue is full" in str(error).lower():
                            queue_full += 1
                        else:
                            errors.append(f"{endpoint}: {type(error).__name__}: {str(error)[:200]}")
                if n == total // 2:
                    rss["middle"] = process.memory_info().rss
            rss.setdefault("end", 0)

        started = time.perf_counter()
        threads = [threading.Thread(target=user) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        rss["end"] = process.memory_info().rss
        stop(server)

    def percentile(values, q):
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else (values or [0])[0]

    return {
        "clients": clients,
        "requests": total,
        "seconds": round(elapsed, 1),
        "errors": errors,
        "queue_full": queue_full,
        "latency_s": {
            endpoint: {"count": len(v), "p50": round(percentile(v, 50), 3), "p95": round(percentile(v, 95), 3)}
            for endpoint, v in latencies.items()
        },
        "rss_mb_after_half": round(rss["middle"] / 2**20, 1),
        "rss_mb_after_last": round(rss["end"] / 2**20, 1),
        "rss_growth": round(rss["end"] / rss["middle"] - 1, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--model", action="append", default=[], metavar="TASK=SOURCE",
                        help="serve these models (every sampled task's) instead of building tiny ones")
    args = parser.parse_args()
    result = run(args.clients, args.requests, dict(model.split("=", 1) for model in args.model))
    print(f"{result['requests']} requests from {result['clients']} clients in {result['seconds']} s; "
          f"errors: {len(result['errors'])}, queue full: {result['queue_full']}")
    print(f"{'endpoint':<18}{'count':>7}{'p50 s':>9}{'p95 s':>9}")
    for endpoint, row in result["latency_s"].items():
        print(f"{endpoint:<18}{row['count']:>7}{row['p50']:>9}{row['p95']:>9}")
    print(f"server RSS: {result['rss_mb_after_half']} MB after half, {result['rss_mb_after_last']} MB after the last "
          f"request ({result['rss_growth']:+.1%})")
    for error in result["errors"]:
        print("ERROR", error)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if not result["errors"] and result["rss_growth"] < 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
