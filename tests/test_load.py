import json
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_load_test_16_clients_60_requests_no_errors_no_leak(tmp_path, tiny_overrides):
    out = tmp_path / "load.json"
    models = [flag for task, source in tiny_overrides.items() for flag in ("--model", f"{task}={source}")]
    run = subprocess.run(
        [sys.executable, "benchmarks/load_test.py", "--clients", "16", "--requests", "60", "--json", str(out),
         *models], cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert out.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["errors"] == []
    assert sum(row["count"] for row in result["latency_s"].values()) + result["queue_full"] == 60
    assert all(row["count"] > 0 for row in result["latency_s"].values()), "every tab was exercised"
    assert result["rss_growth"] < 0.10
    assert run.returncode == 0
