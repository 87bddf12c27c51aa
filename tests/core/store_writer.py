"""A separate process that writes to a curation store, for the fault-tolerance tests.

Run as ``python store_writer.py MODE DATA STORE [ARGS]``; it prints one line per committed
decision (``done <tile> <state>``), flushing each, so the parent knows what was saved.

Modes
    decide N        make N decisions on the proposed items, cycling accept/reject/correct
    hold [S]        start a batch acceptance and stop inside its transaction for S seconds (60),
                    after part of it reached the write-ahead log, printing ``inside``; then
                    commit, printing ``committed N`` (unless the parent killed it meanwhile)
    race TAG N      make N decisions on the items whose tiles are listed in the file TAG,
                    after waiting for a file named go beside TAG to appear (so two writers start together)
"""

import os
import sys
import time
from pathlib import Path

import numpy as np

from saltviewer import open_dataset
from saltviewer.store import CurationStore


def _mask(seed):
    rng = np.random.default_rng(seed)
    return rng.random((101, 101)) < 0.3


def decide(dataset, store, count, tiles=None, kind_of=None):
    items = store.items(dataset, order="tile")
    if tiles is not None:
        items = [item for item in items if item.tile in tiles]
    for step in range(count):
        item = items[step % len(items)]
        # each pass over the items shifts the action, so that no decision repeats the one before it
        action = ("accept", "reject", "correct")[(step % len(items) + step // len(items)) % 3]
        if action == "correct":
            result = store.correct(dataset, item.tile, _mask(step), kind=item.kind, note=f"step {step}")
        else:
            result = getattr(store, action)(dataset, item.tile, kind=item.kind, note=f"step {step}")
        print(f"done {result.tile} {result.kind} {result.state} {step}", flush=True)


def hold(dataset, store, seconds=60.0):
    db = store._db
    db.execute("PRAGMA cache_size = 1")          # spill pages to the log before the commit
    seen = {"updates": 0}

    def pause(statement):
        if statement.startswith("UPDATE items"):
            seen["updates"] += 1
            if seen["updates"] == 15:
                print("inside", flush=True)
                time.sleep(seconds)

    db.set_trace_callback(pause)
    decisions = [(item.tile, item.kind, "accept", None) for item in store.queue(dataset)]
    accepted = store.decide_batch(dataset, decisions, detail={"batch": "held batch"})
    print(f"committed {len(accepted)}", flush=True)


def main():
    mode, data, path = sys.argv[1:4]
    dataset = open_dataset(data)
    store = CurationStore(path, user=f"writer-{os.getpid()}", timeout=60)
    print("ready", flush=True)
    if mode == "decide":
        decide(dataset, store, int(sys.argv[4]))
    elif mode == "hold":
        hold(dataset, store, float(sys.argv[4]) if len(sys.argv) > 4 else 60.0)
    elif mode == "race":
        tag = Path(sys.argv[4])
        tiles = set(tag.read_text().split())
        while not tag.with_name("go").exists():
            time.sleep(0.005)
        decide(dataset, store, int(sys.argv[5]), tiles=tiles)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
