"""Context prediction: out-of-fold score of the same small U-Net fed each tile with its mosaic
neighbours around it, against the tile mirrored out to the same window.

The labelled TGS tiles that the mosaics place (the only ones context can change) are split into
folds by mosaic, so no mosaic has tiles on both sides; both arms train on the same folds with the
same seed, epochs and network, and differ only in what fills the margin. Small on purpose: it
shares the machine with the training benchmarks.

Run: nice -n 19 python benchmarks/bench_context.py [--margin 13] [--folds 2] [--epochs 8]
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import TGS, write_results  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/saltviewer-bench-ws"))
    parser.add_argument("--margin", type=int, default=13)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from saltviewer import open_dataset
    from saltviewer.metric import image_precisions
    from saltviewer.mosaic import build_mosaics, context_windows
    from saltviewer.training.context import build_context_unet
    from saltviewer.training.losses import BCEDice

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    dataset = open_dataset(TGS)
    dataset.use_cache(args.workspace)
    images = dataset.images()
    mosaics = build_mosaics(dataset, images=images)
    placed = [i for i in np.flatnonzero(dataset.has_mask) if mosaics.mosaic_index[i] >= 0]
    indices = np.array(placed)
    windows, neighbours = context_windows(mosaics, images, indices, args.margin)
    mirrored = np.stack([np.pad(images[i], args.margin, mode="reflect") for i in indices])
    masks = np.stack([dataset.mask(i) for i in indices]).astype(np.float32)[..., None]
    # folds by mosaic: every mosaic on one side
    rng = np.random.default_rng(args.seed)
    numbers = np.unique(mosaics.mosaic_index[indices])
    fold_of_mosaic = dict(zip(numbers.tolist(), rng.permutation(len(numbers)) % args.folds))
    folds = np.array([fold_of_mosaic[int(mosaics.mosaic_index[i])] for i in indices])
    results = {"tiles": len(indices), "tiles_with_a_placed_neighbour": int(neighbours.any(axis=1).sum()),
               "mean_neighbours_placed": round(float(neighbours.sum(axis=1).mean()), 2),
               "margin": args.margin, "folds": args.folds, "epochs": args.epochs, "width": args.width,
               "threads": args.threads, "seed": args.seed}
    for arm, inputs in (("mirror", mirrored), ("context", windows)):
        oof = np.zeros((len(indices), 101, 101), np.float32)
        start = time.perf_counter()
        for fold in range(args.folds):
            keras.utils.set_random_seed(args.seed + fold)
            model = build_context_unet(args.margin, width=args.width)
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=BCEDice())
            train, valid = folds != fold, folds == fold
            x = inputs.astype(np.float32)[..., None] / 255.0
            model.fit(x[train], masks[train], batch_size=16, epochs=args.epochs, verbose=0, shuffle=True)
            oof[valid] = 1 / (1 + np.exp(-model.predict(x[valid], batch_size=32, verbose=0)[..., 0]))
        precisions = image_precisions(masks[..., 0] > 0.5, oof > 0.5)
        results[arm] = {"oof_score": round(float(precisions.mean()), 4), "seconds": round(time.perf_counter() - start)}
        results[f"{arm}_precisions"] = precisions
    difference = results.pop("context_precisions") - results.pop("mirror_precisions")
    results["context_minus_mirror"] = {
        "mean": round(float(difference.mean()), 4),
        "standard_error": round(float(difference.std(ddof=1) / np.sqrt(len(difference))), 4),
        "tiles_better": int((difference > 0).sum()), "tiles_worse": int((difference < 0).sum())}
    write_results("context", results)


if __name__ == "__main__":
    main()
