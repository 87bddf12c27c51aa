"""Helpers for the benchmark scripts: timing and writing results."""

import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
TGS = Path(__file__).resolve().parents[1].parent / "shared" / "tgs"


def best_of(function, repeat=5):
    """Smallest wall time of `repeat` calls, in seconds (the least disturbed by a noisy machine)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def write_results(topic, results):
    """Print the figures and store them in benchmarks/results/<topic>.json."""
    results = dict(results, machine=f"{platform.node()} {platform.processor() or platform.machine()}",
                   measured=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{topic}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    for key, value in results.items():
        print(f"{key}: {value}")
    print(f"written to {path}")
    return path
