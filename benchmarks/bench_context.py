"""Context prediction: the out-of-fold score of the project's U-Net fed each tile with its mosaic
neighbours around it, against the same network fed the tile mirrored out to the same window.

Both arms are the training pipeline's own parts (`prepare_inputs` with the mosaics, `train_fold`
with a `TrainingRecipe`, flip TTA, the tuned threshold): the same network (`build_unet(context=True)`,
which on a mirrored window computes exactly what the plain U-Net computes), the same folds, seed,
epochs and augmentation. They differ only in what fills the 14-pixel margin.

The tiles are the labelled TGS tiles that the default mosaics place (context can change no other
tile). Folds:
- ``--split coverage`` (default, as `train_model` makes them): a validation tile's neighbours may
  be training tiles, as a test tile's are in use;
- ``--split mosaic``: every mosaic on one side, so no validation tile has a neighbour the model
  trained on (the stricter question: does context help in a region never seen).

Each fold's out-of-fold probabilities, and the mosaics, are kept in --work, so a stopped run resumes on the same tiles.

Run: nohup python benchmarks/bench_context.py [--epochs 24] [--folds 3] [--split coverage] &
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import RESULTS, TGS, write_results  # noqa: E402


def paired_interval(difference, rng, n=2000):
    means = np.array([difference[rng.integers(0, len(difference), len(difference))].mean() for _ in range(n)])
    return [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=TGS)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/saltviewer-bench-ws"))
    parser.add_argument("--work", type=Path, default=Path("/work/bench/context"))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=["coverage", "mosaic"], default="coverage")
    parser.add_argument("--name", default=None, help="key in context.json (default: <split>_seed<seed>)")
    args = parser.parse_args()

    from saltviewer import open_dataset
    from saltviewer.mosaic import build_mosaics, read_mosaics, write_mosaics
    from saltviewer.recipe import TrainingRecipe
    from saltviewer.training.fit import configure_backend, prepare_inputs, stratified_fold_assignment
    from saltviewer.training.fold import train_fold
    from saltviewer.training.models import context_margin

    configure_backend()
    dataset = open_dataset(args.data)
    dataset.use_cache(args.workspace)
    name = args.name or f"{args.split}_seed{args.seed}"
    work = args.work / name
    work.mkdir(parents=True, exist_ok=True)
    # The mosaics are kept with the run: a resumed run cuts the same windows from the same
    # mosaics (and scores the same tiles) even when the mosaic code has changed since.
    start = time.perf_counter()
    if (work / "mosaics" / "mosaics.json").is_file():
        mosaics = read_mosaics(work / "mosaics", dataset)
    else:
        mosaics = build_mosaics(dataset, images=dataset.images())
        write_mosaics(mosaics, work / "mosaics", labelled=dataset)
        mosaics = read_mosaics(work / "mosaics", dataset)
    mosaic_seconds = time.perf_counter() - start
    labelled = np.flatnonzero(dataset.has_mask)
    rows = labelled[mosaics.mosaic_index[labelled] >= 0]
    recipe = TrainingRecipe.from_scratch(folds=args.folds, epochs=args.epochs, width=args.width, seed=args.seed,
                                         context=True).check()
    margin = context_margin(128)
    masks = dataset.masks(rows)
    tiles = prepare_inputs(dataset, rows)
    inputs = {"mirror": np.pad(tiles, ((0, 0), (margin, margin), (margin, margin), (0, 0)), mode="reflect"),
              "context": prepare_inputs(dataset, rows, mosaics=mosaics, margin=margin)}
    neighbours = np.array([(mosaics.neighbour_index[i] >= 0).sum() for i in rows])   # sides with a tile
    if args.split == "coverage":
        fold_of = stratified_fold_assignment(masks, args.folds, args.seed)
    else:
        rng = np.random.default_rng(args.seed)
        numbers = np.unique(mosaics.mosaic_index[rows])
        fold_of_mosaic = dict(zip(numbers.tolist(), rng.permutation(len(numbers)) % args.folds))
        fold_of = np.array([fold_of_mosaic[int(mosaics.mosaic_index[i])] for i in rows])
    print(f"{len(rows)} placed labelled tiles; folds {np.bincount(fold_of).tolist()}; mosaics in "
          f"{mosaic_seconds:.1f} s", flush=True)

    # Fold by fold, both arms in turn: a run stopped early still holds paired folds.
    oof = {arm: np.zeros(masks.shape, np.float32) for arm in ("mirror", "context")}
    seconds = {"mirror": 0.0, "context": 0.0}
    done = np.zeros(len(rows), bool)
    for k in range(args.folds):
        for arm in ("mirror", "context"):
            path = work / f"{arm}_fold{k}.npz"
            if path.is_file():
                saved = np.load(path)
                oof[arm][fold_of == k] = saved["probabilities"]
                seconds[arm] += float(saved["seconds"])
                continue
            began = time.perf_counter()
            card, probabilities, _ = train_fold(
                k, args.folds, inputs[arm], masks, fold_of, encoder="small", input_size=128, resize_mode="pad",
                channels=1, encoder_weights="none", width=recipe.width, hypercolumn=recipe.hypercolumn,
                scse=recipe.scse, schedule=recipe.schedule(), optimizer=recipe.optimizer, max_lr=recipe.peak_lr(),
                min_lr_ratio=recipe.min_lr_ratio, swa_epochs=recipe.swa_epochs, batch_size=recipe.batch_size,
                augment=recipe.augment, tta=recipe.tta, seed=recipe.seed, emit=lambda event: None, cancel=None,
                deadline=None, bn_batches=recipe.bn_batches, base=(None, None, None), out=work / "fold.keras",
                timing={}, n_labelled=len(rows), recipe=recipe, context=True)
            took = time.perf_counter() - began
            np.savez_compressed(path, probabilities=probabilities, seconds=took, card=json.dumps(card))
            oof[arm][fold_of == k] = probabilities
            seconds[arm] += took
            print(f"{arm} fold {k}: val score {card['val_score']:.4f} in {took:.0f} s", flush=True)
        done |= fold_of == k
        write_context_results(args, name, rows, fold_of, done, masks, oof, seconds, neighbours, margin,
                              mosaic_seconds)


def write_context_results(args, name, rows, fold_of, done, masks, oof, seconds, neighbours, margin, mosaic_seconds):
    """Scores of both arms on the folds both have finished, into context.json under `name`."""
    from saltviewer import competition_score
    from saltviewer.metric import image_precisions
    from saltviewer.thresholds import apply_threshold, tune_threshold

    folds_done = sorted(set(fold_of[done].tolist()))
    masks, neighbours = masks[done], neighbours[done]
    results = {"tiles": int(len(rows)), "tiles_scored": int(done.sum()), "folds_scored": folds_done,
               "split": args.split, "folds": args.folds, "epochs": args.epochs,
               "width": args.width, "seed": args.seed, "margin": margin, "encoder": "small",
               "mean_sides_with_a_neighbour": round(float(neighbours.mean()), 2),
               "mosaic_seconds": round(mosaic_seconds, 1)}
    precisions = {}
    for arm in ("mirror", "context"):
        probabilities = oof[arm][done]
        choice = tune_threshold(masks, probabilities)
        binary = apply_threshold(probabilities, choice.threshold, choice.min_area)
        precisions[arm] = image_precisions(masks, binary)
        results[arm] = {"oof_score": round(float(choice.score), 4), "threshold": choice.threshold,
                        "min_area": int(choice.min_area),
                        "oof_score_at_0.5": round(float(competition_score(masks, apply_threshold(probabilities, 0.5, 0))), 4),
                        "train_seconds": round(seconds[arm])}
    difference = precisions["context"] - precisions["mirror"]
    rng = np.random.default_rng(0)
    results["context_minus_mirror"] = {
        "mean": round(float(difference.mean()), 4), "interval_95": paired_interval(difference, rng),
        "tiles_better": int((difference > 0).sum()), "tiles_worse": int((difference < 0).sum())}
    for label, keep in (("4_sides", neighbours == 4), ("2_or_3_sides", (neighbours >= 2) & (neighbours <= 3)),
                        ("1_side", neighbours == 1)):
        if keep.any():
            results[f"context_minus_mirror_{label}"] = {"tiles": int(keep.sum()),
                                                        "mean": round(float(difference[keep].mean()), 4),
                                                        "interval_95": paired_interval(difference[keep], rng)}
    previous = json.loads((RESULTS / "context.json").read_text()) if (RESULTS / "context.json").is_file() else {}
    runs = previous.get("runs", {}) if "runs" in previous else {}
    runs[name] = results
    write_results("context", {"runs": runs, "command": "python benchmarks/bench_context.py "
                              "[--split coverage|mosaic] [--seed S] [--epochs 24] [--folds 3]"})


if __name__ == "__main__":
    main()
