"""The hub against the app a user would otherwise write (peer_app.py: a gr.Interface around a pipeline, default
queue), on the same default-size models (random weights, offline): per task, p50 latency at 1 client and
requests per second at 8 clients.

    python benchmarks/peers.py [--rounds 5] [--tasks ner image_classification] [--json benchmarks/results-cpu.json]

Both apps are subprocesses, up at the same time, called by the same light client (http_client.py) with the same
input (the hub endpoint's sample). A shared 2-core machine drifts, so the two are interleaved: request by
request at 1 client (who goes first alternates), burst by burst at 8. Targets: latency ratio (hub/peer) at most
1.05; throughput ratio (hub/peer) at least 2 on NER and image classification, where the hub batches.
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from benchmarks.cpu_burner import burning  # noqa: E402
from benchmarks.http_client import HttpClient, burst  # noqa: E402
from benchmarks.peer_app import API_NAMES  # noqa: E402
from benchmarks.serving import free_port, serve, stop  # noqa: E402
from benchmarks.timing import keep_figures  # noqa: E402

TASKS = tuple(API_NAMES)
BATCHED = ("ner", "image_classification")  # the tasks with a throughput target
TARGET_LATENCY_RATIO, TARGET_THROUGHPUT_RATIO = 1.05, 2.0
START_TIMEOUT_S = 300  # an app answers once its model is loaded; a cold read of BERT-base can take a while
# Time bounds on top of the counts: no new request starts after these (the default-size translator takes ~15 s a
# request here). A burst's rate counts the requests it finished over the time they took.
LATENCY_SECONDS, BURST_SECONDS = 300, 60


def requests(task: str) -> dict[str, tuple[str, tuple]]:
    """The hub endpoint's sample request (model "": the tab's default, here the --model directory) and the
    peer's request with the same input."""
    import demos

    endpoint = next(e for tab in demos.TABS for e in tab.ENDPOINTS if e.task == task and e.sample)
    inputs = list(endpoint.sample(""))
    if task == "translation":
        inputs[2] = "de"  # the sample's target is the tiny en-zh model's; the default-size model is en-de
    return {"hub": ("/" + endpoint.api_name, tuple(inputs)), "peer": (API_NAMES[task], (inputs[0],))}


def answer_key(task: str, answer: list):
    """What both apps' first output should agree on, the same model on the same input: the top class (the
    hub rounds probabilities), else the whole first output."""
    return answer[0]["label"] if task == "image_classification" else answer[0]


def latency(clients: dict, calls: dict, rounds: int) -> dict[str, list[float]]:
    """Seconds per request at 1 client, the apps alternating request by request."""
    times = {app: [] for app in calls}
    stop_at = time.monotonic() + LATENCY_SECONDS
    for round_ in range(rounds):
        for app in (("hub", "peer") if round_ % 2 == 0 else ("peer", "hub")):
            api_name, inputs = calls[app]
            started = time.perf_counter()
            clients[app].predict(api_name, *inputs)
            times[app].append(time.perf_counter() - started)
        if time.monotonic() > stop_at:
            break
    return times




def compare(task: str, urls: dict, rounds: int, clients: int, requests_per_client: int) -> dict:
    """One task, both apps already serving it: warm-up, then latency rounds, then throughput rounds."""
    calls = requests(task)
    single = {app: HttpClient(url) for app, url in urls.items()}
    pools = {app: [HttpClient(url) for _ in range(clients)] for app, url in urls.items()}
    try:
        answers = {}
        for app, (api_name, inputs) in calls.items():  # the first request loads the model
            answers[app] = [single[app].predict(api_name, *inputs) for _ in range(2)][-1]
        for app in calls:
            # one-off costs of concurrent requests (batch shapes, threads)
            burst(pools[app], *calls[app], 1, BURST_SECONDS)
        times = latency(single, calls, rounds)
        rates = {app: [] for app in calls}
        for round_ in range(rounds):
            for app in (("hub", "peer") if round_ % 2 == 0 else ("peer", "hub")):
                rates[app].append(burst(pools[app], *calls[app], requests_per_client, BURST_SECONDS))
    finally:
        for client in [*single.values(), *(c for pool in pools.values() for c in pool)]:
            client.close()
    p50 = {app: statistics.median(values) for app, values in times.items()}
    rps = {app: statistics.median(values) for app, values in rates.items()}
    paired = [hub / peer for hub, peer in zip(times["hub"], times["peer"])]
    paired_rps = [hub / peer for hub, peer in zip(rates["hub"], rates["peer"])]
    result = {
        "hub_p50_ms": round(1000 * p50["hub"], 1), "peer_p50_ms": round(1000 * p50["peer"], 1),
        "latency_ratio": round(p50["hub"] / p50["peer"], 3),
        "latency_ratio_per_round": [min(round(r, 3) for r in paired), max(round(r, 3) for r in paired)],
        "hub_rps": round(rps["hub"], 2), "peer_rps": round(rps["peer"], 2),
        "throughput_ratio": round(rps["hub"] / rps["peer"], 3),
        "throughput_ratio_per_round": [min(round(r, 3) for r in paired_rps), max(round(r, 3) for r in paired_rps)],
        "same_answer": answer_key(task, answers["hub"]) == answer_key(task, answers["peer"]),
        "latency_target_met": p50["hub"] / p50["peer"] <= TARGET_LATENCY_RATIO,
    }
    if task in BATCHED:
        result["throughput_target_met"] = rps["hub"] / rps["peer"] >= TARGET_THROUGHPUT_RATIO
    return result


def peers(models: dict[str, Path], rounds: int, clients: int = 8, requests_per_client: int = 4, burners: int = 0,
          hub_env: dict | None = None) -> dict:
    """Per task of `models` (task -> default-size model directory, TASKS only): the hub and the peer compared.
    The hub serves every task at once, as it does; one peer app at a time serves its task. With `burners`, that
    many busy processes run beside both apps while they are measured (cpu_burner.py); `hub_env` is added to the
    hub's environment (an OpenMP setting to try, say)."""
    tasks = [task for task in TASKS if task in models]
    hub_port = free_port()
    hub_command = [sys.executable, "app.py", "--offline", "--port", str(hub_port), "--result-cache-mb", "0",
                   # every model stays loaded: a reload between tasks would be timed as a request
                   "--max-loaded-models", str(len(tasks))]
    for task in tasks:
        hub_command += ["--model", f"{task}={models[task]}"]
    results = {}
    hub, _ = serve(hub_command, hub_port, timeout=START_TIMEOUT_S, env={**os.environ, **(hub_env or {})})
    try:
        for task in tasks:
            peer_port = free_port()
            peer, _ = serve([sys.executable, "benchmarks/peer_app.py", "--port", str(peer_port), "--task", task,
                             "--model", str(models[task])], peer_port, timeout=START_TIMEOUT_S)
            try:
                urls = {"hub": f"http://127.0.0.1:{hub_port}/", "peer": f"http://127.0.0.1:{peer_port}/"}
                # Other processes' CPU load moves these figures, the hub's most (its OpenMP workers spin while
                # they wait, which a busy machine punishes): the 1-minute load average is kept with them.
                load = os.getloadavg()[0]
                with burning(burners, max_seconds=3600):
                    results[task] = {**compare(task, urls, rounds, clients, requests_per_client),
                                     "load_average": [round(load, 2), round(os.getloadavg()[0], 2)]}
            finally:
                stop(peer)
    finally:
        stop(hub)
    return {**results, "rounds": rounds, "clients": clients, "requests_per_client": requests_per_client,
            "burners": burners, "hub_env": hub_env or {}}


def table(results: dict) -> str:
    header = (f"{'task':<22}{'hub p50 ms':>11}{'peer p50 ms':>12}{'ratio':>7}{'hub rps':>9}{'peer rps':>9}"
              f"{'ratio':>7}  same answer")
    lines = [header, f"{'':<22}{'':>11}{'':>12}{'<=1.05':>7}{'':>9}{'':>9}{'>=2*':>7}"]
    for task in TASKS:
        if task in results:
            r = results[task]
            lines.append(f"{task:<22}{r['hub_p50_ms']:>11}{r['peer_p50_ms']:>12}{r['latency_ratio']:>7}"
                         f"{r['hub_rps']:>9}{r['peer_rps']:>9}{r['throughput_ratio']:>7}  {r['same_answer']}")
    lines.append("* on ner and image_classification only")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests-per-client", type=int, default=4)
    parser.add_argument("--burners", type=int, default=0,
                        help="busy processes beside both apps while they are measured (default: none)")
    parser.add_argument("--hub-env", nargs="*", default=[], metavar="NAME=VALUE",
                        help="added to the hub's environment, e.g. OMP_WAIT_POLICY=ACTIVE")
    parser.add_argument("--json", type=Path, help="merge the figures into this file under the key 'peers' "
                        "('peers_with_N_burners' with --burners N)")
    args = parser.parse_args()
    from default_size_models import build_all

    with tempfile.TemporaryDirectory() as tmp:
        models = build_all(Path(tmp), tuple(args.tasks))
        results = peers(models, args.rounds, args.clients, args.requests_per_client, args.burners,
                        dict(item.split("=", 1) for item in args.hub_env))
    print(json.dumps(results, indent=2))
    print(table(results))
    if args.json:
        keep_figures(args.json, f"peers_with_{args.burners}_burners" if args.burners else "peers", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
