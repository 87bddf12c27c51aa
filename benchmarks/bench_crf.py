"""Does dense-CRF refinement raise the competition score of out-of-fold predictions?

Scores out-of-fold (OOF) probability maps of the 3,200 labelled tiles of ../shared/tgs with
the competition metric, raw and refined with `saltviewer.crf.refine_with_crf` under several
parameter settings, at the 0.5 threshold and at the best threshold of each (chosen on the
same maps, so both sides get the same optimism), with a 95% interval of the paired per-tile
change. Refinement is worth turning on by default only if a setting gains at least 0.005 with
an interval above zero on the real OOF maps.

Sources of OOF maps, best first:

``real``
    /work/bench/oof_small.npz (keys ids, probabilities float16 (N, 101, 101)) written by the
    training code: U-Net predictions on held-out folds. Used whenever the file exists.
``pixel-classifier``
    A gradient-boosted pixel classifier (scikit-learn) on local intensity, smoothed
    intensities, local contrast, gradients, position and depth, trained and predicted
    with 5-fold cross-validation over tiles: honest OOF maps, weaker than a U-Net.
``degraded-truth``
    The true masks blurred (sigma 3 px), shifted by up to 3 px, with smooth noise and
    occasional tile-level misses and false alarms: a stand-in with known structure.

Run: python benchmarks/bench_crf.py [--sources real pixel-classifier degraded-truth] [--tiles N]
Writes benchmarks/results/crf.json.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import TGS, write_results  # noqa: E402

from saltviewer import competition_score, image_precisions, open_dataset  # noqa: E402
from saltviewer.crf import refine_with_crf  # noqa: E402

REAL_OOF = Path("/work/bench/oof_small.npz")
CACHE = Path("/work/bench/crf")
THRESHOLDS = np.round(np.arange(0.10, 0.91, 0.05), 2)

SETTINGS = {
    "gaussian sxy3 w3": dict(gaussian_sxy=3, gaussian_compat=3, bilateral_compat=0),
    "gaussian sxy1 w1": dict(gaussian_sxy=1, gaussian_compat=1, bilateral_compat=0),
    "bilateral sxy10 s20 w5 + gaussian": dict(gaussian_sxy=3, gaussian_compat=3, bilateral_sxy=10,
                                              bilateral_srgb=20, bilateral_compat=5),
    "bilateral sxy20 s10 w10 + gaussian": dict(gaussian_sxy=3, gaussian_compat=3, bilateral_sxy=20,
                                               bilateral_srgb=10, bilateral_compat=10),
    "bilateral sxy5 s5 w3, no gaussian": dict(gaussian_compat=0, bilateral_sxy=5, bilateral_srgb=5,
                                              bilateral_compat=3),
    "bilateral sxy30 s40 w3 + gaussian w1": dict(gaussian_sxy=3, gaussian_compat=1, bilateral_sxy=30,
                                                 bilateral_srgb=40, bilateral_compat=3),
}


# ------------------------------------------------------------------------- OOF sources
def real_oof(dataset):
    with np.load(REAL_OOF, allow_pickle=False) as data:
        ids = [str(i) for i in data["ids"]]
        probabilities = data["probabilities"].astype(np.float32)
    indices = np.array([dataset.index(i) for i in ids])
    return indices, probabilities


def _features(images, depths):
    """Per-pixel features of (n, 101, 101) uint8 tiles: (n * 10201, F) float32."""
    x = images.astype(np.float32) / 255
    n = len(x)
    feats = [x]
    for sigma in (1, 2, 4, 8):
        feats.append(ndimage.gaussian_filter(x, (0, sigma, sigma)))
    for sigma in (2, 5):
        mean = ndimage.gaussian_filter(x, (0, sigma, sigma))
        feats.append(np.sqrt(np.maximum(ndimage.gaussian_filter(x * x, (0, sigma, sigma)) - mean * mean, 0)))
    smooth = ndimage.gaussian_filter(x, (0, 1, 1))
    feats.append(np.hypot(ndimage.sobel(smooth, axis=1), ndimage.sobel(smooth, axis=2)))
    feats.append(ndimage.sobel(smooth, axis=1))
    rows = np.broadcast_to(np.linspace(0, 1, 101, dtype=np.float32)[None, :, None], x.shape)
    feats.append(rows)
    feats.append(np.broadcast_to(x.mean(axis=(1, 2))[:, None, None], x.shape))
    feats.append(np.broadcast_to(x.std(axis=(1, 2))[:, None, None], x.shape))
    feats.append(np.broadcast_to((np.nan_to_num(depths, nan=500.0) / 1000).astype(np.float32)[:, None, None],
                                 x.shape))
    return np.stack([f.reshape(n, -1) for f in feats], axis=-1).reshape(n * 10201, -1)


def pixel_classifier_oof(dataset, indices, seed=0, folds=5, per_tile=160):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(seed)
    images = dataset.images(indices)
    masks = dataset.masks(indices)
    depths = dataset.depths[indices]
    fold_of = rng.permutation(len(indices)) % folds
    out = np.empty(masks.shape, np.float32)
    for fold in range(folds):
        train = np.flatnonzero(fold_of != fold)
        picks = rng.integers(0, 10201, (len(train), per_tile))
        xs = []
        for start in range(0, len(train), 128):      # features of 128 tiles at a time (about 80 MB)
            part = train[start:start + 128]
            x = _features(images[part], depths[part]).reshape(len(part), 10201, -1)
            xs.append(np.take_along_axis(x, picks[start:start + 128, :, None], axis=1).reshape(-1, x.shape[-1]))
        x = np.concatenate(xs)
        y = np.take_along_axis(masks[train].reshape(len(train), -1), picks, axis=1).reshape(-1)
        model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=63,
                                               random_state=seed)
        model.fit(x, y)
        held = np.flatnonzero(fold_of == fold)
        for start in range(0, len(held), 128):
            part = held[start:start + 128]
            p = model.predict_proba(_features(images[part], depths[part]))[:, 1]
            out[part] = p.reshape(len(part), 101, 101)
        print(f"  pixel classifier: fold {fold + 1}/{folds} done", flush=True)
    return out


def degraded_truth_oof(dataset, indices, seed=0):
    rng = np.random.default_rng(seed)
    masks = dataset.masks(indices).astype(np.float32)
    out = np.empty_like(masks)
    for k, mask in enumerate(masks):
        shifted = np.roll(mask, tuple(rng.integers(-3, 4, 2)), axis=(0, 1))
        if rng.random() < 0.08:                 # a missed body or a false alarm
            shifted = np.zeros_like(shifted) if shifted.any() else (
                ndimage.gaussian_filter(rng.random((101, 101)), 12) > 0.52).astype(np.float32)
        p = ndimage.gaussian_filter(shifted, 3)
        noise = ndimage.gaussian_filter(rng.standard_normal((101, 101)), 2) * 0.35
        out[k] = np.clip(0.05 + 0.9 * p + noise, 0, 1)
    return out


def load_source(name, dataset, indices):
    if name == "real":
        return real_oof(dataset)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"oof_{name}_{len(indices)}.npy"
    if path.is_file():
        return indices, np.load(path)
    start = time.perf_counter()
    if name == "pixel-classifier":
        maps = pixel_classifier_oof(dataset, indices)
    else:
        maps = degraded_truth_oof(dataset, indices)
    print(f"  made {name} maps in {time.perf_counter() - start:.0f} s", flush=True)
    np.save(path, maps.astype(np.float32))
    return indices, maps


# ------------------------------------------------------------------------- scoring
def score_curve(truth, probabilities):
    return {f"{t:.2f}": round(competition_score(truth, probabilities > t), 4) for t in THRESHOLDS}


def summarise(curve):
    best = max(curve, key=curve.get)
    return {"at_0.50": curve["0.50"], "best": curve[best], "best_threshold": float(best)}


def paired_interval(truth, before, after):
    """Mean and 95% interval (normal, paired over tiles) of the per-tile precision change."""
    change = image_precisions(truth, after) - image_precisions(truth, before)
    half = 1.96 * change.std(ddof=1) / np.sqrt(len(change))
    return [round(float(change.mean() - half), 4), round(float(change.mean() + half), 4)]


def evaluate(name, dataset, indices, probabilities):
    truth = dataset.masks(indices)
    images = dataset.images(indices)
    raw = summarise(score_curve(truth, probabilities))
    result = {"tiles": int(len(indices)), "no_crf": raw, "settings": {}}
    print(f"{name}: {len(indices)} tiles; no CRF: {raw}", flush=True)
    for label, params in SETTINGS.items():
        start = time.perf_counter()
        use_image = params.get("bilateral_compat", 0) > 0
        refined = refine_with_crf(probabilities, images if use_image else None, **params)
        seconds = time.perf_counter() - start
        summary = summarise(score_curve(truth, refined))
        summary.update(delta_at_0_50=round(summary["at_0.50"] - raw["at_0.50"], 4),
                       delta_best=round(summary["best"] - raw["best"], 4),
                       delta_at_0_50_95ci=paired_interval(truth, probabilities > 0.5, refined > 0.5),
                       delta_best_95ci=paired_interval(truth, probabilities > raw["best_threshold"],
                                                       refined > summary["best_threshold"]),
                       ms_per_tile=round(1000 * seconds / len(indices), 2), params=params)
        result["settings"][label] = summary
        print(f"  {label}: {summary}", flush=True)
    best_label = max(result["settings"], key=lambda k: result["settings"][k]["delta_best"])
    best = result["settings"][best_label]
    result["best_setting"] = best_label
    result["best_setting_delta"] = best["delta_best"]
    helps = best["delta_best"] >= 0.005 and best["delta_best_95ci"][0] > 0
    result["verdict"] = (f"CRF helps: {best_label} gains {best['delta_best']:+.4f} (95% {best['delta_best_95ci']})"
                         if helps else
                         f"CRF does not help: the best setting ({best_label}) gains {best['delta_best']:+.4f} "
                         f"(95% {best['delta_best_95ci']}); the rule is at least +0.005 with an interval above 0")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", nargs="+", default=["real", "pixel-classifier", "degraded-truth"])
    parser.add_argument("--tiles", type=int, default=None, help="use the first N labelled tiles (default all)")
    args = parser.parse_args(argv)
    dataset = open_dataset(TGS)
    indices = dataset.indices("train")
    if args.tiles:
        indices = indices[:args.tiles]
    results = {"thresholds_searched": [float(t) for t in THRESHOLDS], "sources": {}}
    for name in args.sources:
        if name == "real" and not REAL_OOF.is_file():
            results["sources"]["real"] = f"not available: {REAL_OOF} does not exist (yet)"
            print(results["sources"]["real"])
            continue
        source_indices, maps = load_source(name, dataset, indices)
        if name == "real" and args.tiles:
            source_indices, maps = source_indices[:args.tiles], maps[:args.tiles]
        results["sources"][name] = evaluate(name, dataset, source_indices, maps)
    decided = results["sources"].get("real")
    if not isinstance(decided, dict):
        decided = results["sources"].get("pixel-classifier")
    if isinstance(decided, dict):
        results["default"] = "on" if decided["verdict"].startswith("CRF helps") else "off"
        results["default_from"] = "real" if isinstance(results["sources"].get("real"), dict) else "pixel-classifier"
    write_results("crf", results)


if __name__ == "__main__":
    main()
