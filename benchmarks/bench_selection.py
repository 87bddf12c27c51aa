"""Pseudo-label selection on the whole TGS data: how large a share of the 18,000 unlabelled tiles
the ranked selection can propose at a given per-image precision, with models trained on all 3,200
labelled tiles.

The precision of each share is measured on the versions' out-of-fold maps of the labelled tiles
(no model saw the tile it predicted, as for the pool); the share chosen there (the largest whose
mean per-image competition precision reaches 0.90) is then applied to the unlabelled pool's
predictions, which gives the number of tiles a person would be offered. `bench_loop.py` measures
the same curve inside its simulated loop, where the pool's truth is known.

Run: python benchmarks/bench_selection.py --models WS [--versions v0001 v0002]
Writes benchmarks/results/selection.json.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import TGS, write_results  # noqa: E402
from bench_loop import SHARES, TARGET_PRECISION, oof_ensemble, precision_curve  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=TGS)
    parser.add_argument("--models", type=Path, required=True, help="workspace with versions trained on all labelled tiles")
    parser.add_argument("--versions", nargs="+", default=None, help="default: every version of --models")
    args = parser.parse_args()

    from saltviewer import Workspace, open_dataset
    from saltviewer.ensemble import Ensemble
    from saltviewer.pseudo import RANKS, labelled_empty_share, select_candidates

    dataset = open_dataset(args.data)
    workspace = Workspace(args.models)
    versions = args.versions or workspace.versions()
    cards = {v: workspace.card(v) for v in versions}
    empty_share = labelled_empty_share(dataset)
    labelled = np.flatnonzero(dataset.has_mask)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        with oof_ensemble(Path(scratch), workspace, dataset, versions) as ensemble:
            ranked, threshold, overall = precision_curve(ensemble, labelled, dataset.masks(labelled), SHARES,
                                                         RANKS, empty_share)
    best = None
    for rank in RANKS:
        ok = [p for p in ranked[rank] if p["precision"] is not None and p["precision"] >= TARGET_PRECISION]
        if ok and (best is None or ok[-1]["share"] > best["share"]):
            best = {"rank": rank, **ok[-1]}
    results = {"command": "python benchmarks/bench_selection.py --models " + str(args.models),
               "data": str(args.data), "versions": {v: {"encoder": cards[v].get("encoder"),
                                                        "folds": cards[v].get("folds"),
                                                        "epochs": cards[v].get("epochs"),
                                                        "oof_score": cards[v].get("oof_score")} for v in versions},
               "labelled_tiles": int(len(labelled)), "empty_share": round(float(empty_share), 4),
               "target_precision": TARGET_PRECISION, "oof": {"ranked": ranked, "threshold_criterion": threshold,
                                                             **overall},
               "chosen_on_oof": best}
    pool = np.flatnonzero(~dataset.has_mask)
    predicted = all(workspace.has_predictions(v, dataset) for v in versions)
    if best is not None and predicted:
        with Ensemble(workspace, dataset, versions) as ensemble:
            scores = ensemble.scores(pool, truth=False, images=True)
            offered = select_candidates(scores, share=best["share"], rank=best["rank"], empty_share=empty_share)
            threshold_pool = select_candidates(scores, "agreement", empty_share=empty_share)
        results["pool"] = {"tiles": int(len(pool)), "share": best["share"], "rank": best["rank"],
                           "offered": int(len(offered.positions)), "offered_empty": int(offered.empty.sum()),
                           "threshold_criterion_offered": int(len(threshold_pool.positions)),
                           "expected_precision_from_oof": best["precision"]}
    results["seconds"] = round(time.perf_counter() - start, 1)
    write_results("selection", results)


if __name__ == "__main__":
    main()
