"""One default turn of the curation loop at full scale, timed step by step on this machine.

On all the TGS data (3,200 labelled tiles, 18,000 unlabelled), as a user runs it from the command
line: a parent trained with the scratch preset, then the turn:

1. ``saltviewer predict DATA -w WS --models v0001`` (every tile, flip TTA);
2. ``saltviewer pseudo-label DATA -w WS --share 0.17`` (the ranked proposals and the queue);
3. ``saltviewer decide DATA accept-all --min-agreement 0 -w WS`` (every proposal accepted unseen:
   a batch, so they train as pseudo-labels);
4. ``saltviewer train DATA -w WS --base v0001 --pseudo-labels accepted`` (the default fine-tune).

Each step's wall time, and the training's own time from its card, go to
benchmarks/results/turn.json. A step already done (its output in the workspace) is not run
again, so a cut run resumes. ``--scratch-retrain`` also times the other preset on everything:
``saltviewer train DATA -w WS --recipe scratch --pseudo-labels accepted``.

Run:  nohup python benchmarks/bench_turn.py > /work/bench/turn.log 2>&1 &
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import TGS, write_results  # noqa: E402


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def saltviewer(*args):
    """Run a saltviewer command; return its wall seconds and its output."""
    command = [shutil.which("saltviewer") or "saltviewer", *map(str, args)]
    log("$", " ".join(command))
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    log(f"  {seconds / 60:.1f} min; " + " | ".join(done.stdout.strip().splitlines()[-6:]))
    return round(seconds, 1), done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=TGS)
    parser.add_argument("--workspace", type=Path, default=Path("/work/bench/turn/ws"))
    parser.add_argument("--share", type=float, default=0.17)
    parser.add_argument("--scratch-retrain", action="store_true")
    args = parser.parse_args()
    ws = args.workspace
    state_path = ws / "turn_state.json"
    ws.mkdir(parents=True, exist_ok=True)
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}

    def save():
        state_path.write_text(json.dumps(state, indent=1))

    from saltviewer import Workspace

    workspace = Workspace(ws)
    if not workspace.versions():
        state["parent"] = {"seconds": saltviewer("train", args.data, "-w", ws)[0]}
        save()
    parent = workspace.versions()[0]
    card = workspace.card(parent)
    state.setdefault("parent", {}).update(version=parent, train_seconds=card["timings"]["total_s"],
                                          oof_score=card["oof_score"], recipe=card["recipe"])
    if "predict" not in state:
        state["predict"] = {"seconds": saltviewer("predict", args.data, "-w", ws, "--models", parent)[0]}
        save()
    if "pseudo_label" not in state:
        seconds, out = saltviewer("pseudo-label", args.data, "-w", ws, "--share", args.share)
        state["pseudo_label"] = {"seconds": seconds, "output": out.strip().splitlines()[-8:]}
        save()
    if "accept_all" not in state:
        seconds, out = saltviewer("decide", args.data, "accept-all", "--min-agreement", "0", "-w", ws)
        state["accept_all"] = {"seconds": seconds, "output": out.strip().splitlines()}
        save()
    versions = workspace.versions()
    if "fine_tune" not in state:
        seconds, out = saltviewer("train", args.data, "-w", ws, "--base", parent, "--pseudo-labels", "accepted")
        child = Workspace(ws).versions()[-1]
        state["fine_tune"] = {"seconds": seconds, "version": child, "output": out.strip().splitlines()}
        save()
    child = Workspace(ws).card(state["fine_tune"]["version"])
    state["fine_tune"].update(train_seconds=child["timings"]["total_s"], oof_score=child["oof_score"],
                              parent_oof_score=child.get("parent_oof_score"),
                              pseudo_labels=child.get("pseudo_labels"),
                              epoch_tiles=[f["epoch_tiles"] for f in child["fold_details"]])
    if args.scratch_retrain and "scratch_retrain" not in state:
        seconds, out = saltviewer("train", args.data, "-w", ws, "--recipe", "scratch", "--pseudo-labels", "accepted")
        retrained = Workspace(ws).card(Workspace(ws).versions()[-1])
        state["scratch_retrain"] = {"seconds": seconds, "version": retrained["version"],
                                    "train_seconds": retrained["timings"]["total_s"],
                                    "oof_score": retrained["oof_score"], "output": out.strip().splitlines()}
        save()
    del versions
    turn = sum(state[k]["seconds"] for k in ("predict", "pseudo_label", "accept_all", "fine_tune"))
    write_results("turn", {"command": "python benchmarks/bench_turn.py", "data": str(args.data),
                           "turn_minutes": round(turn / 60, 1), **state})


if __name__ == "__main__":
    main()
