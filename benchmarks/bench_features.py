"""Do the simple feature channels change the out-of-fold score of the CPU recipe? And how fast are they?

    python benchmarks/bench_features.py [--data ../shared/tgs] [--tiles 800] [--folds 3] [--epochs 8]
        [--budget 30] [--channels depth position cumsum sobel laplacian variance entropy]
        [--also position,cumsum] [--reuse] [--speed-only]

1. Speed: `compute_features` per channel on 2,000 real tiles, and the entropy channel against
   scikit-image's rank entropy (the obvious baseline) on the same tiles, as a ratio.
2. Quality: a fixed, seeded subset of the labelled TGS tiles (linked, never copied, into a
   scratch folder) trains the default CPU recipe (small encoder, k folds, same seed and
   folds) twice: image only, then image plus the extra channels. Each run's out-of-fold
   competition score (threshold tuned on the OOF maps) is reported, with the per-fold
   validation scores to show the spread.

Figures go to benchmarks/results/features.json. Run it in the background at low priority:
``nohup nice -n 10 python benchmarks/bench_features.py > /tmp/bench_features.log 2>&1 &``.
"""

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _util import TGS, best_of, write_results  # noqa: E402


def speed(data, count=2000):
    import numpy as np
    from skimage.filters.rank import entropy as rank_entropy

    import saltviewer
    from saltviewer.features import FEATURE_NAMES, WINDOW, compute_features

    dataset = saltviewer.open_dataset(data)
    train = dataset.indices("train")[:count]
    images = dataset.images(train)
    depths = dataset.depths[train]
    per_channel = {}
    for name in FEATURE_NAMES:
        seconds = best_of(lambda: compute_features(images, depths, (name,)), repeat=3)
        per_channel[name] = round(seconds / len(images) * 1e3, 3)
    every = best_of(lambda: compute_features(images, depths), repeat=2)
    sample = images[:200]
    footprint = np.ones((WINDOW, WINDOW), np.uint8)
    skimage_seconds = best_of(lambda: [rank_entropy(tile, footprint) for tile in sample], repeat=2) / len(sample)
    ours_seconds = best_of(lambda: compute_features(sample, None, ("entropy",)), repeat=2) / len(sample)
    return {
        "speed_tiles": len(images),
        "ms_per_tile_by_channel": per_channel,
        "ms_per_tile_all_channels": round(every / len(images) * 1e3, 3),
        "seconds_all_channels_21200_tiles_estimate": round(every / len(images) * 21200, 1),
        "entropy_ms_per_tile_ours": round(ours_seconds * 1e3, 3),
        "entropy_ms_per_tile_skimage_rank_256_levels": round(skimage_seconds * 1e3, 3),
        "entropy_speedup_vs_skimage_rank": round(skimage_seconds / ours_seconds, 2),
        "entropy_note": "ours bins grey levels into 16 (local entropy in [0, 4] bits); skimage's rank "
                        "entropy uses all 256 levels, so the values differ; both 7x7 windows",
    }


def subset_folder(data, out, tiles, seed):
    """A folder in the competition layout whose train tiles are a seeded subset, as symbolic links."""
    import numpy as np

    import saltviewer

    dataset = saltviewer.open_dataset(data)
    labelled = np.flatnonzero((dataset.split == "train") & dataset.has_mask)
    chosen = np.sort(np.random.default_rng(seed).choice(labelled, size=min(tiles, len(labelled)), replace=False))
    if out.exists():
        shutil.rmtree(out)
    (out / "train" / "images").mkdir(parents=True)
    (out / "train" / "masks").mkdir(parents=True)
    rows = ["id,z"]
    for i in chosen:
        tile_id = dataset.ids[i]
        for kind in ("images", "masks"):
            source = Path(data).resolve() / "train" / kind / f"{tile_id}.png"
            (out / "train" / kind / f"{tile_id}.png").symlink_to(source)
        rows.append(f"{tile_id},{dataset.depths[i]:g}")
    (out / "depths.csv").write_text("\n".join(rows) + "\n")
    return out, [dataset.ids[i] for i in chosen]


def quality(args):
    from saltviewer.training import train_model

    folder, ids = subset_folder(args.data, args.scratch / "data", args.tiles, args.seed)
    subset = {"tiles": len(ids), "seed": args.seed, "from": str(args.data)}
    recipe = {"encoder": "small", "folds": args.folds, "epochs": args.epochs, "budget_minutes_per_run": args.budget}
    runs = {}
    if args.reuse and (HERE / "results" / "features.json").is_file():
        import json

        kept = json.loads((HERE / "results" / "features.json").read_text())
        if kept.get("quality_subset") == subset and kept.get("recipe") == recipe:
            runs = kept.get("runs", {})
    plans = [("image only", ()), ("image + features", tuple(args.channels))]
    plans += [("image + " + ", ".join(extra.split(",")), tuple(extra.split(","))) for extra in args.also]
    for number, (label, channels) in enumerate(plans):
        if label in runs:
            print(f"{label}: kept from the last run ({runs[label]['oof_score']})", flush=True)
            continue
        workspace = args.scratch / f"ws_{number}"
        if workspace.exists():
            shutil.rmtree(workspace)
        start = time.monotonic()

        def on_progress(event, label=label, start=start):
            if event.kind == "epoch":
                logs = " ".join(f"{k} {v:.4f}" for k, v in event.logs.items())
                print(f"[{label} {time.monotonic() - start:6.0f}s] fold {event.fold + 1}/{event.n_folds} "
                      f"epoch {event.epoch + 1}/{event.n_epochs} {logs}", flush=True)
            elif event.kind in ("fold", "done"):
                print(f"[{label} {time.monotonic() - start:6.0f}s] {event.kind}: {event.message} {event.logs}",
                      flush=True)

        result = train_model(folder, workspace, encoder="small", epochs=args.epochs, folds=args.folds,
                             budget_minutes=args.budget, channels=channels, seed=args.seed,
                             on_progress=on_progress)
        card = result.card
        runs[label] = {
            "channels": list(channels),
            "oof_score": round(card["oof_score"], 4),
            "oof_score_at_0.5": round(card["oof_score_at_0.5"], 4),
            "threshold": card["threshold"], "min_area": card["min_area"],
            "fold_scores": [round(d["val_score"], 4) for d in card["fold_details"]],
            "epochs_planned": [d.get("epochs_planned") for d in card["fold_details"]],
            "epochs_run_last_stage": [d.get("epochs_run") for d in card["fold_details"]],
            "cut_by_budget": card["cut_by_budget"],
            "minutes": round((time.monotonic() - start) / 60, 1),
            "code": _code_version(),
        }
        print(label, runs[label], flush=True)
    plain = runs["image only"]["oof_score"]
    return {
        "quality_subset": subset,
        "recipe": recipe,
        "runs": runs,
        "oof_score_change": round(runs["image + features"]["oof_score"] - plain, 4),
        "oof_score_change_by_run": {label: round(run["oof_score"] - plain, 4) for label, run in runs.items()},
        "load_average_at_end": os.getloadavg(),
    }


def _code_version():
    """The commit the run used, marked when training/ or saltviewer/ had uncommitted changes.

    Runs kept with --reuse may come from older code; compare only runs of one version.
    """
    import subprocess

    root = HERE.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "training", "saltviewer"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+uncommitted" if dirty else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=TGS)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/bench_features"))
    parser.add_argument("--tiles", type=int, default=800)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--budget", type=float, default=30.0, help="minutes per training run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels", nargs="+", default=None, help="the extra channels (default: all)")
    parser.add_argument("--also", action="append", default=[], metavar="CH1,CH2",
                        help="also train with these channels (repeatable)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep runs of the last results file with the same subset and recipe")
    parser.add_argument("--speed-only", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data / "train" / "images").is_dir():
        print(f"no TGS data at {args.data}; nothing to measure", file=sys.stderr)
        return 1
    from saltviewer.features import FEATURE_NAMES

    args.channels = args.channels or list(FEATURE_NAMES)
    results = {"cores": os.cpu_count(), "note": "2 shared cores; other jobs ran at the same time"}
    if args.speed_only and (HERE / "results" / "features.json").is_file():
        # Keep the quality figures of the last full run; refresh the speed figures only.
        import json

        kept = json.loads((HERE / "results" / "features.json").read_text())
        results.update({k: v for k, v in kept.items()
                        if k in ("quality_subset", "recipe", "runs", "oof_score_change", "oof_score_change_by_run")})
    results.update(speed(args.data))
    print(results, flush=True)
    if not args.speed_only:
        results.update(quality(args))
    write_results("features", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
