"""Training and prediction throughput (tiles/s) of each encoder on this machine, and the time
to predict the TGS test tiles with a trained version.

    python benchmarks/bench_training_throughput.py [--encoders small resnet34 resnet50 xception]
        [--batches 4] [--workspace /work/bench/ws_tgs --version v0001] [--data ../shared/tgs]

For each encoder at its default input size (101 padded to 128) it times a few training steps
(batch 32, BCE + Dice, normalized-gradient SGD) and a few prediction batches (batch 64, one
pass) on random tiles, after a warm-up step. With --version it also predicts the whole test
split of the data with that version for real (its k fold models x flip TTA), and once with
one fold model and no TTA, in a scratch copy of the workspace. Figures go to
benchmarks/results/training_throughput.json.
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


def encoder_throughput(encoder, batches, train_batch=32, predict_batch=64):
    import numpy as np

    from saltviewer.training.losses import BCEDice
    from saltviewer.training.models import build_unet
    from saltviewer.training.optimizers import NormalizedSGD

    rng = np.random.default_rng(0)
    model = build_unet(encoder)
    model.compile(optimizer=NormalizedSGD(0.005), loss=BCEDice())
    x = rng.random((train_batch, 101, 101, 1)).astype("float32")
    y = (rng.random((train_batch, 101, 101, 1)) > 0.5).astype("float32")
    model.train_on_batch(x, y)                       # trace and warm up
    start = time.perf_counter()
    for _ in range(batches):
        model.train_on_batch(x, y)
    train = batches * train_batch / (time.perf_counter() - start)
    xp = rng.random((predict_batch, 101, 101, 1)).astype("float32")
    model.predict_on_batch(xp)
    start = time.perf_counter()
    for _ in range(batches):
        model.predict_on_batch(xp)
    predict = batches * predict_batch / (time.perf_counter() - start)
    return {"params": int(model.count_params()), "input_size": 128, "train_tiles_per_s": round(train, 1),
            "predict_tiles_per_s": round(predict, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", nargs="+", default=["small", "resnet34", "resnet50", "xception"])
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "tgs")
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--version", default=None)
    parser.add_argument("--modes", nargs="+", default=["ensemble_tta", "one_fold_no_tta"],
                        choices=["ensemble_tta", "one_fold_no_tta"])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "training_throughput.json")
    args = parser.parse_args(argv)

    import keras

    figures = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared with "
                          "other jobs", "keras_backend": keras.backend.backend(), "encoders": {},
               "load_average_at_start": os.getloadavg()}
    for encoder in args.encoders:
        figures["encoders"][encoder] = encoder_throughput(encoder, args.batches)
        print(encoder, figures["encoders"][encoder], flush=True)
    if args.version:
        import shutil
        import tempfile

        import saltviewer
        from saltviewer.training import predict_dataset

        # Predict in a scratch workspace holding a copy of the version (and the tile cache, linked),
        # so the maps stored in the real workspace stay those of the full ensemble.
        source = saltviewer.Workspace(args.workspace)
        card = source.card(args.version)
        scratch = Path(tempfile.mkdtemp(prefix="bench-predict-"))
        try:
            workspace = saltviewer.Workspace(scratch / "ws")
            shutil.copytree(source.version_dir(args.version), workspace.models_dir / args.version)
            if source.cache_dir.is_dir():
                os.symlink(source.cache_dir, workspace.cache_dir)
            dataset = saltviewer.open_dataset(args.data).use_cache(workspace)
            n = len(dataset.indices("test"))
            modes = {"ensemble_tta": ({}, 2 * len(card["fold_models"])),
                     "one_fold_no_tta": ({"folds": [0], "tta": False}, 1)}
            for label in args.modes:
                options, passes = modes[label]
                start = time.monotonic()
                predict_dataset(dataset, workspace, [args.version], split="test", **options)
                seconds = time.monotonic() - start
                figures[f"predict_test_{label}"] = {"version": args.version, "tiles": n, "model_passes": passes,
                                                    "seconds": round(seconds, 1), "tiles_per_s": round(n / seconds, 1)}
                print(label, figures[f"predict_test_{label}"], flush=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    figures["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
