"""Scoring 20,000 tiles with the competition metric, against a per-image reference loop.

Run: python benchmarks/bench_metric.py
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import TGS, best_of, write_results  # noqa: E402

from saltviewer import competition_score, rle_decode, rle_encode  # noqa: E402


def reference_precision(truth, prediction):
    if not truth.any():
        return 1.0 if not prediction.any() else 0.0
    iou = np.logical_and(truth, prediction).sum() / np.logical_or(truth, prediction).sum()
    return float(np.mean([iou > t for t in np.arange(0.5, 1.0, 0.05)]))


def main():
    rng = np.random.default_rng(0)
    n = 20_000
    yy, xx = np.mgrid[:101, :101]
    centres = rng.integers(0, 101, (n, 2))
    radii = rng.integers(0, 60, n) * (rng.random(n) > 0.4)
    truth = ((yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2
             < radii[:, None, None] ** 2)
    prediction = np.roll(truth, rng.integers(-3, 4), axis=2) ^ (rng.random(truth.shape) < 0.002)

    fast = best_of(lambda: competition_score(truth, prediction), repeat=5)
    sub = 2000
    start = time.perf_counter()
    reference = [reference_precision(t, p) for t, p in zip(truth[:sub], prediction[:sub])]
    reference_time = (time.perf_counter() - start) * n / sub
    assert abs(np.mean(reference) - competition_score(truth[:sub], prediction[:sub])) < 1e-12

    results = {
        "tiles": n,
        "score_seconds": round(fast, 4),
        "reference_loop_seconds_extrapolated": round(reference_time, 2),
        "speedup_over_reference": round(reference_time / fast, 1),
        "target": "well under 1 s for 20,000 tiles",
    }
    masks = truth[:2000]
    encode = best_of(lambda: [rle_encode(m) for m in masks], repeat=3)
    texts = [rle_encode(m) for m in masks]
    decode = best_of(lambda: [rle_decode(t) for t in texts], repeat=3)
    results["rle_encode_tiles_per_second"] = round(len(masks) / encode)
    results["rle_decode_tiles_per_second"] = round(len(masks) / decode)
    if (TGS / "train.csv").is_file():
        from saltviewer.score import score_submission

        start = time.perf_counter()
        report = score_submission(TGS / "train.csv", TGS / "train" / "masks")
        results["score_cli_path_train_csv_vs_mask_pngs"] = {
            "score": round(report.score, 4), "seconds_including_png_reading": round(time.perf_counter() - start, 2)}
    write_results("metric", results)


if __name__ == "__main__":
    main()
