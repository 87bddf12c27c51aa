"""How good are the pseudo-labels the ensemble proposes? Measured where the truth is known.

The trained versions of a TGS workspace each keep out-of-fold probability maps of the 3,200
labelled tiles (``oof.npz``): predictions by fold models that never saw those tiles, like the
predictions of the unlabelled pool. This script writes them as the versions' predictions of
the labelled tiles into a scratch workspace, runs the pseudo-label selection on the labelled
tiles as if they were unlabelled, and scores the proposed masks against the true ones with the
competition's per-image precision; with and without calibration (saltviewer.calibration).

Run: python benchmarks/bench_pseudo_quality.py [--models /work/bench/ws_tgs] [--versions v0001 v0002]
Writes benchmarks/results/pseudo_quality.json.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import TGS, write_results  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=TGS)
    parser.add_argument("--models", type=Path, default=Path("/work/bench/ws_tgs"))
    parser.add_argument("--versions", nargs="+", default=None)
    args = parser.parse_args()

    from saltviewer import Workspace, open_dataset
    from saltviewer.ensemble import Ensemble
    from saltviewer.metric import competition_score, image_precisions
    from saltviewer.pseudo import labelled_empty_share, select_candidates

    dataset = open_dataset(args.data)
    source = Workspace(args.models)
    versions = args.versions or [v for v in source.versions() if (source.version_dir(v) / "oof.npz").is_file()]
    if len(versions) < 2:
        raise SystemExit(f"{args.models}: need two versions with oof.npz, found {versions}")
    labelled = np.flatnonzero(dataset.has_mask)
    truth = dataset.masks(labelled)
    results = {"data": str(args.data), "models_from": str(args.models), "versions": versions,
               "labelled_tiles": int(len(labelled))}
    with tempfile.TemporaryDirectory(prefix="pseudo-quality-") as scratch:
        workspace = Workspace(Path(scratch) / "ws")
        for version in versions:
            target = workspace.models_dir / version
            target.mkdir(parents=True)
            shutil.copy2(source.version_dir(version) / "card.json", target / "card.json")
            shutil.copy2(source.version_dir(version) / "oof.npz", target / "oof.npz")
            card = workspace.card(version)
            if "calibration" in card:       # fitted again here, on these out-of-fold maps
                del card["calibration"]
                (target / "card.json").write_text(json.dumps(card))
            with np.load(target / "oof.npz") as oof:
                ids, levels = [str(i) for i in oof["ids"]], oof["probabilities"]
            maps = np.zeros((len(dataset), 101, 101), np.uint8)
            rows = np.array([dataset.index(i) for i in ids])
            maps[rows] = levels if levels.dtype == np.uint8 else np.rint(levels.astype(np.float32) * 255)
            workspace.write_predictions(version, dataset, maps)
            predicted = np.zeros(len(dataset), bool)
            predicted[rows] = True
            np.save(workspace.predicted_tiles_path(version, dataset), predicted)

        share = labelled_empty_share(dataset)
        for calibrate in (False, True):
            start = time.perf_counter()
            ensemble = Ensemble(workspace, dataset, versions, calibrate=calibrate)
            scores = ensemble.scores(labelled, truth=False)
            selection = select_candidates(scores, "agreement", empty_share=share)
            masks = np.zeros((len(selection.positions), 101, 101), bool)
            where = {int(i): k for k, i in enumerate(selection.indices)}
            for positions, _, consensus in ensemble.consensus(selection.indices):
                for i, mask in zip(positions, consensus):
                    masks[where[int(i)]] = mask
            chosen_truth = truth[selection.positions]
            precision = image_precisions(chosen_truth, masks)
            salt = ~selection.empty
            everything = []
            for _, _, consensus in ensemble.consensus(labelled, chunk=512):
                everything.append(consensus)
            all_masks = np.concatenate(everything)
            name = "calibrated" if calibrate else "raw"
            results[name] = {
                "candidates": int(len(selection.positions)),
                "confident_salt": int(salt.sum()),
                "confident_empty": int((~salt).sum()),
                "candidate_precision_mean": round(float(precision.mean()), 4) if len(precision) else None,
                "salt_candidate_precision_mean": round(float(precision[salt].mean()), 4) if salt.any() else None,
                "empty_candidates_truly_empty": (round(float(np.mean(~chosen_truth[~salt].any(axis=(1, 2)))), 4)
                                                 if (~salt).any() else None),
                "consensus_score_all_labelled": round(float(competition_score(truth, all_masks)), 4),
                "uncertain_pixels_median": round(float(np.median(scores.uncertain)), 4),
                "seconds": round(time.perf_counter() - start, 1),
            }
            ensemble.close()
    results["note"] = ("predictions are each version's out-of-fold maps: no model saw the tile it predicted; "
                       "the calibration table is fitted on the same maps (256 levels from 32 million pixels)")
    write_results("pseudo_quality", results)


if __name__ == "__main__":
    main()
