"""Quality of the default CPU recipe on the TGS data: k-fold OOF competition score and wall time.

    python benchmarks/bench_training_quality.py [--data ../shared/tgs] [--workspace /work/bench/ws_tgs]
        [--folds 3] [--epochs 18] [--budget 60] [--oof-out /work/bench/oof_small.npz]

Trains one version (the small encoder, normalized-gradient SGD, BCE+Dice then Lovasz, SWA)
in the workspace, saves its out-of-fold probabilities (float16, dataset train order), then
predicts the test tiles (timed) and writes a submission. Figures go to
benchmarks/results/training_quality.json.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "tgs")
    parser.add_argument("--workspace", type=Path, default=Path("/work/bench/ws_tgs"))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=18)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--oof-out", type=Path, default=Path("/work/bench/oof_small.npz"))
    parser.add_argument("--skip-predict", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "training_quality.json")
    args = parser.parse_args(argv)

    import numpy as np

    import saltviewer
    from saltviewer.training import predict_dataset, train_model, write_ensemble_submission

    dataset = saltviewer.open_dataset(args.data)
    start = time.monotonic()

    def on_progress(event):
        if event.kind == "epoch":
            logs = " ".join(f"{k} {v:.4f}" for k, v in event.logs.items())
            print(f"[{time.monotonic() - start:7.0f}s] fold {event.fold + 1}/{event.n_folds} "
                  f"epoch {event.epoch + 1}/{event.n_epochs} {logs}", flush=True)
        elif event.kind in ("phase", "fold", "done"):
            print(f"[{time.monotonic() - start:7.0f}s] {event.kind}: {event.message} {event.logs}", flush=True)

    result = train_model(dataset, args.workspace, encoder="small", epochs=args.epochs, folds=args.folds,
                         budget_minutes=args.budget, max_lr=args.lr, on_progress=on_progress)
    train_seconds = time.monotonic() - start
    card = result.card
    # OOF probabilities in dataset train order, for the CRF benchmark.
    train_ids = [dataset.ids[i] for i in dataset.indices("train") if dataset.has_mask[i]]
    position = {tile_id: k for k, tile_id in enumerate(result.oof_ids)}
    order = [position[i] for i in train_ids]
    from saltviewer._atomic import atomic_path

    with atomic_path(args.oof_out, suffix=".npz") as tmp:   # readers never see a half-written file
        with open(tmp, "wb") as handle:
            np.savez(handle, ids=np.array(train_ids), probabilities=result.oof_probabilities[order].astype(np.float16))
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with other jobs)",
        "data": str(args.data), "workspace": str(args.workspace), "version": result.version,
        "encoder": "small", "folds": args.folds, "epochs": args.epochs, "budget_minutes": args.budget,
        "oof_score": card["oof_score"], "oof_score_at_0.5": card["oof_score_at_0.5"],
        "threshold": card["threshold"], "min_area": card["min_area"], "cut_by_budget": card["cut_by_budget"],
        "fold_scores": [d["val_score"] for d in card["fold_details"]],
        "fold_selected": [d["selected"] for d in card["fold_details"]],
        "epochs_run": [d["epochs_run"] for d in card["fold_details"]],
        "loss_schedules_run": [d["loss_schedule"] for d in card["fold_details"]],
        "cpu_seconds": round(sum(os.times()[:2]), 1),
        "train_wall_minutes": round(train_seconds / 60, 1), "oof_file": str(args.oof_out),
        "load_average_at_end": os.getloadavg(),
    }
    print(json.dumps(figures, indent=2), flush=True)
    if not args.skip_predict:
        t = time.monotonic()
        predict_dataset(dataset, args.workspace, [result.version], split="test")
        figures["predict_test_tiles"] = int(len(dataset.indices("test")))
        figures["predict_test_seconds"] = round(time.monotonic() - t, 1)
        figures["predict_test_note"] = f"{args.folds} fold models x flip TTA"
        info = write_ensemble_submission(dataset, args.workspace, [result.version],
                                         args.workspace / f"submission_{result.version}.csv")
        figures["submission"] = str(info.path)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
