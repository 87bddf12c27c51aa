"""Does the Lovasz stage of the default recipe pay on the TGS data? The same run with BCE + Dice only.

Trains the default CPU recipe (small encoder, 3 folds x 24 epochs, 60-minute budget) with the
loss schedule ``[("bce_dice", 24)]`` into a scratch workspace and reports its out-of-fold score,
to compare with benchmarks/results/training_quality.json (the default schedule: BCE + Dice,
then Lovasz).

Measured 2026-11-25 on the idle 2-core machine: out-of-fold 0.746 (folds 0.716 / 0.729 / 0.732)
in 37.3 min, against 0.750 (0.738 / 0.732 / 0.742) for the default schedule.

Run: python benchmarks/bench_loss_schedule.py [--workspace /work/bench/ws_bce]
Writes benchmarks/results/loss_schedule.json.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import TGS, write_results  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=TGS)
    parser.add_argument("--workspace", type=Path, default=Path("/work/bench/ws_bce"))
    parser.add_argument("--epochs", type=int, default=24)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from saltviewer import open_dataset
    from saltviewer.training import train_model

    def show(event):
        if event.kind in ("fold", "done"):
            print(event.kind, event.fold, event.logs, flush=True)

    start = time.perf_counter()
    result = train_model(open_dataset(args.data), args.workspace, encoder="small", folds=3, epochs=args.epochs,
                         budget_minutes=60, loss_schedule=[("bce_dice", args.epochs)], on_progress=show)
    card = result.card
    write_results("loss_schedule", {
        "schedule": [["bce_dice", args.epochs]], "version": card["version"], "workspace": str(args.workspace),
        "oof_score": card["oof_score"], "oof_score_at_0.5": card["oof_score_at_0.5"],
        "fold_scores": [f.get("val_score") for f in card["fold_details"]], "cut_by_budget": card["cut_by_budget"],
        "train_wall_minutes": round((time.perf_counter() - start) / 60, 1),
        "compare_with": "benchmarks/results/training_quality.json (bce_dice then lovasz)"})


if __name__ == "__main__":
    main()
