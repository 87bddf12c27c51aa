"""SEG-Y benchmarks: a stitched TGS section against tile-by-tile prediction; a 2 GB volume on Dask.

Stages (run in order; each reads what the one before wrote under --work):

``prepare``
    Mosaics of the TGS tiles (saltviewer.mosaic) are stitched into sections (cells without a
    tile filled with mid grey) and written as SEG-Y lines (IBM floats, amplitude
    ``(grey - 128) / 32``). The labelled tiles inside are the partial truth; a training folder
    of the other labelled tiles (symbolic links) is written beside them, so the model never
    saw the tiles it is scored on. Train on it, e.g.
    ``nice -n 15 saltviewer train WORK/train -w WORK/ws --folds 2 --epochs 4``.
``section``
    ``segy predict`` on each line against predicting the same labelled tiles one by one
    (predict_dataset + Ensemble, the tile pipeline); both scored with the competition metric
    on the labelled tiles, at the ensemble's threshold and per-tile minimum area. Also the
    tiles per second of each. ``--runs OVERLAP:SCALING[:nomute]``; ``--key``/``--tag`` keep
    runs of other settings apart.
``quiet``
    The same sections under a water column of 100, 200 or 300 samples (weak noise) with 3 dead
    traces: salt predicted (``--mask``) in the water and the dead traces, and the score of the
    labelled tiles below, with the quiet zones found from the data and without.
``axes``
    docs/segy_section_axes.png and docs/segy_volume_axes.png: a stitched section and a small
    synthetic volume in napari, axes named from the headers (under xvfb-run).
``screenshot``
    docs/segy.png: a stitched section in napari with its predicted salt (under xvfb-run).
``volume``
    A synthetic volume of at least 2 GB float32 (inline sections from
    saltviewer.sample.synthetic_section) written as SEG-Y, predicted out of core with local
    Dask in a child process whose peak resident memory is measured; and a small part of it
    predicted on a dask.distributed LocalCluster with two workers, against local threads.

Results go to benchmarks/results/segy.json (merged, one key per stage).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TGS = Path(os.environ.get("SALTVIEWER_TGS", REPO.parent / "shared" / "tgs"))
RESULTS = REPO / "benchmarks" / "results" / "segy.json"


def _save(key, value):
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[key] = value
    results["cpu_cores"] = os.cpu_count()
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({key: value}, indent=1))


# --------------------------------------------------------------------------- prepare
def prepare(work, min_labelled=200):
    import segyio

    from saltviewer import Workspace, build_mosaics, open_dataset, stitch

    work.mkdir(parents=True, exist_ok=True)
    dataset = open_dataset(TGS).use_cache(Workspace(work / "cache_ws"))
    started = time.monotonic()
    mosaics = build_mosaics(dataset)
    seconds = time.monotonic() - started
    chosen, labelled_ids = [], []
    candidates = []
    for mosaic in mosaics:
        filled = len(mosaic) / (mosaic.shape[0] * mosaic.shape[1])
        labelled = [t for t in mosaic.ids if dataset.has_mask[dataset.index(t)]]
        if mosaic.shape[0] >= 2 and mosaic.shape[1] >= 3 and filled >= 0.6 and labelled:
            candidates.append((len(labelled), mosaic, labelled))
    candidates.sort(key=lambda c: -c[0])
    for _, mosaic, labelled in candidates:
        if len(labelled_ids) >= min_labelled:
            break
        chosen.append(mosaic)
        labelled_ids.extend(labelled)
    sections = []
    for k, mosaic in enumerate(chosen):
        image = stitch(mosaic, lambda tile: dataset.image(tile), fill=128)
        path = work / f"section{k:02d}.sgy"
        segyio.tools.from_array(str(path), ((image.T.astype(np.float32) - 128) / 32), format=1)
        places = [{"id": t, "row": int(r) * 101, "col": int(c) * 101}
                  for t, r, c in zip(mosaic.ids, mosaic.rows, mosaic.cols) if dataset.has_mask[dataset.index(t)]]
        sections.append({"path": path.name, "mosaic": mosaic.number, "grid": list(mosaic.shape),
                         "tiles": len(mosaic), "pixels": list(image.shape), "labelled": places})
    held_out = set(labelled_ids)
    _training_folder(dataset, work / "train", held_out)
    _training_folder(dataset, work / "heldout", None, only=held_out)
    info = {"mosaics_found": len(mosaics), "mosaic_seconds": round(seconds, 1), "sections": sections,
            "labelled_tiles_in_sections": len(labelled_ids),
            "training_tiles": int(dataset.has_mask.sum()) - len(held_out)}
    (work / "sections.json").write_text(json.dumps(info, indent=1))
    summary = {k: v for k, v in info.items() if k != "sections"}
    summary["sections"] = [{k: v for k, v in s.items() if k != "labelled"} | {"labelled": len(s["labelled"])}
                           for s in sections]
    _save("prepare", summary)


def _training_folder(dataset, folder, held_out, only=None):
    """A competition-layout folder of links to labelled TGS tiles (without `held_out`, or `only` those)."""
    for sub in ("train/images", "train/masks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    rows = []
    for i in np.flatnonzero(dataset.has_mask):
        tile = dataset.ids[i]
        if (held_out is not None and tile in held_out) or (only is not None and tile not in only):
            continue
        for sub in ("images", "masks"):
            link = folder / "train" / sub / f"{tile}.png"
            if not link.exists():
                link.symlink_to(TGS / "train" / sub / f"{tile}.png")
        rows.append(f"{tile},{dataset.depths[i]:g}")
    (folder / "depths.csv").write_text("id,z\n" + "\n".join(rows) + "\n")


# --------------------------------------------------------------------------- section
def _tile_masks(probability, cutoff, min_area):
    """Per-tile masks of (n, 101, 101) consensus probabilities: the ensemble's tile rule."""
    masks = probability > cutoff
    masks[masks.reshape(len(masks), -1).sum(axis=1) < min_area] = False
    return masks


def section(work, versions, runs=((0, "file", True), (50, "file", True), (50, "tile", True)), limit=None,
            key="section", tag=""):
    from saltviewer import Ensemble, Workspace, competition_score, open_dataset
    from saltviewer.training import predict_dataset
    from saltviewer.training.section import predict_segy

    info = json.loads((work / "sections.json").read_text())
    workspace = Workspace(work / "ws")
    versions = workspace.resolve_models(versions)
    heldout = open_dataset(work / "heldout")
    started = time.monotonic()
    tile_seconds = None               # None: the stored predictions of an earlier run were used
    if not all(workspace.has_predictions(v, heldout) for v in versions):
        predict_dataset(heldout, workspace, versions)
        tile_seconds = time.monotonic() - started
    n_passes = len(heldout)
    if limit:                       # the first `limit` sections, scored on their labelled tiles only
        info["sections"] = info["sections"][:limit]
    from saltviewer.calibration import version_calibration

    for version in versions:        # calibrated now, as segy predict would on its first run, so both read it
        card = workspace.card(version)
        version_calibration(workspace, version, None if "calibration" in card else open_dataset(card["dataset"]),
                            card=card)
    with Ensemble(workspace, heldout, versions) as ensemble:
        rows = np.arange(len(heldout))
        probability = np.concatenate([p for _, p, _ in ensemble.consensus(rows)])
        consensus_masks = np.concatenate([m for _, _, m in ensemble.consensus(rows)])
    if limit:
        keep = np.array(sorted(heldout.index(p["id"]) for e in info["sections"] for p in e["labelled"]))
    else:
        keep = rows
    truth = heldout.masks(rows)
    one_by_one = competition_score(truth[keep], consensus_masks[keep])
    result = {"versions": versions, "labelled_tiles": len(keep), "sections": len(info["sections"]),
              "tile_pipeline_score": round(float(one_by_one), 4),
              "tile_pipeline_seconds": tile_seconds and round(tile_seconds, 1),
              "tile_pipeline_tiles_per_second": tile_seconds and round(n_passes / tile_seconds, 1), "runs": []}
    for overlap, scaling, mute in runs:
        predicted = np.zeros_like(probability)
        n_tiles, seconds, cutoff, min_area = 0, 0.0, None, None
        for entry in info["sections"]:
            out = work / "out" / f"{Path(entry['path']).stem}_o{overlap}_{scaling}{'' if mute else '_nomute'}{tag}.sgy"
            done = predict_segy(work / entry["path"], workspace, out, versions, overlap=overlap, scaling=scaling,
                                mute=0.05 if mute else None)
            n_tiles += done.n_tiles
            seconds += done.seconds
            cutoff, min_area = done.settings["ensemble"]["mask_cutoff"], done.settings["ensemble"]["min_area"]
            values = np.load(done.array)                     # (traces, samples)
            for place in entry["labelled"]:
                k = heldout.index(place["id"])
                predicted[k] = values[place["col"]:place["col"] + 101, place["row"]:place["row"] + 101].T
        score = competition_score(truth[keep], _tile_masks(predicted[keep], cutoff, min_area))
        same = competition_score(truth[keep], _tile_masks(probability[keep], cutoff, min_area))
        result["runs"].append({
            "overlap": overlap, "scaling": scaling, "mute": 0.05 if mute else None,
            "quiet_weight_power": done.settings["quiet_zones"].get("weight_power"), "score": round(float(score), 4),
            "tile_pipeline_score_same_rule": round(float(same), 4),
            "difference": round(float(score - one_by_one), 4), "section_tiles": n_tiles,
            "seconds_including_model_load": round(seconds, 1),
            "tiles_per_second": round(n_tiles / seconds, 1),
            "mean_abs_probability_difference": round(float(np.abs(predicted[keep] - probability[keep]).mean()), 4)})
        print(result["runs"][-1], flush=True)
        _save(key, result)


# --------------------------------------------------------------------------- quiet
def quiet(work, versions, waters=(100, 200, 300), dead=3, noise=0.01, limit=None, overlap=0, key="quiet"):
    """Stitched sections under a water column of `waters` samples (cycled; weak noise, `noise` times
    the section's robust amplitude) with `dead` dead traces: salt predicted in the water and the dead
    traces, and the score of the labelled tiles below, with the data-found mute and without."""
    import segyio

    from saltviewer import Workspace, competition_score, open_dataset
    from saltviewer.seismic import open_segy
    from saltviewer.training.section import predict_segy

    info = json.loads((work / "sections.json").read_text())
    workspace = Workspace(work / "ws")
    versions = workspace.resolve_models(versions)
    heldout = open_dataset(work / "heldout")
    entries = info["sections"][:limit] if limit else info["sections"]
    runs = {}
    scored = set()
    for mute in (None, 0.05):
        quiet_salt = quiet_area = dead_salt = dead_area = 0
        truth, predicted = [], []
        cutoff = min_area = None
        for k, entry in enumerate(entries):
            water = waters[k % len(waters)]
            path = work / "quiet" / f"{Path(entry['path']).stem}_w{water}.sgy"
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                section = open_segy(work / entry["path"]).traces().T
                robust = float(np.percentile(np.abs(section), 99.5))
                column = (np.random.default_rng(k).standard_normal((water, section.shape[1])) * noise * robust)
                marine = np.concatenate([column.astype(np.float32), section])
                traces = np.random.default_rng(100 + k).choice(section.shape[1], dead, replace=False)
                marine[:, traces] = 0.0
                segyio.tools.from_array(str(path), np.ascontiguousarray(marine.T), format=5)
                (path.with_suffix(".dead.json")).write_text(json.dumps(sorted(int(t) for t in traces)))
            traces = json.loads(path.with_suffix(".dead.json").read_text())
            out = work / "quiet" / "out" / f"{path.stem}_{'mute' if mute else 'nomute'}.sgy"
            done = predict_segy(path, workspace, out, versions, overlap=overlap, mask=True, mute=mute)
            cutoff, min_area = done.settings["ensemble"]["mask_cutoff"], done.settings["ensemble"]["min_area"]
            mask = np.load(done.array).T                                 # (samples, traces)
            quiet_salt += int(mask[:water].sum())
            quiet_area += int(mask[:water].size)
            dead_salt += int(mask[water:, traces].sum())
            dead_area += int(mask[water:, traces].size)
            for place in entry["labelled"]:
                r, c = place["row"] + water, place["col"]
                if any(c <= t < c + 101 for t in traces):
                    continue                              # a dead trace crosses this tile: not its own truth
                truth.append(heldout.masks([heldout.index(place["id"])])[0])
                predicted.append(mask[r:r + 101, c:c + 101].astype(bool))
                scored.add(heldout.index(place["id"]))
        runs["mute 0.05" if mute else "no mute"] = {
            "salt_share_in_water": round(quiet_salt / quiet_area, 5),
            "salt_share_in_dead_traces": round(dead_salt / dead_area, 5),
            "water_pixels": quiet_area, "dead_trace_pixels": dead_area,
            "labelled_tiles_scored": len(truth),
            "score_of_labelled_tiles_below": round(float(competition_score(np.array(truth), np.array(predicted))), 4)}
        print(runs, flush=True)
    from saltviewer import Ensemble

    rows = np.array(sorted(scored))
    with Ensemble(workspace, heldout, versions) as ensemble:          # the same tiles predicted as tiles
        tile_masks = np.concatenate([m for _, _, m in ensemble.consensus(rows)])
    tile_score = competition_score(heldout.masks(rows), tile_masks)
    result = {"command": f"nice -n 5 python3 benchmarks/bench_segy.py quiet --work {work} --overlap {overlap}",
              "tile_pipeline_score_of_the_same_tiles": round(float(tile_score), 4),
              "versions": versions, "sections": len(entries), "waters_samples": list(waters), "dead_traces": dead,
              "water_noise_of_robust_amplitude": noise, "overlap": overlap, "runs": runs,
              "note": "--mask output (the ensemble's cutoff and minimum area); tiles crossed by a dead trace not scored"}
    _save(key, result)


# --------------------------------------------------------------------------- volume
def make_volume(path, inlines, crosslines, samples, seed=0, shift=0.25):
    """A SEG-Y volume of synthetic inline sections (IEEE floats), written section by section;
    each inline is the base section rolled by `shift` crosslines per inline (a large shift makes
    neighbouring blocks differ, which a race between writers needs to show)."""
    import segyio

    from saltviewer.sample import synthetic_section

    rng = np.random.default_rng(seed)
    spec = segyio.spec()
    spec.iline, spec.xline, spec.format, spec.sorting = 189, 193, 5, 2
    spec.samples = np.arange(samples) * 4.0
    spec.ilines, spec.xlines, spec.offsets = np.arange(1, inlines + 1), np.arange(1, crosslines + 1), [1]
    rows, cols = -(-samples // 101), -(-crosslines // 101)
    base, _ = synthetic_section(rng, rows, cols)
    base = (base[:samples, :crosslines].astype(np.float32) - 128) / 32
    with segyio.create(str(path), spec) as f:
        for i in range(inlines):
            # a slowly changing section: the base, shifted along the crosslines, with noise
            section = np.roll(base, int(i * shift), axis=1) + rng.standard_normal(base.shape).astype(np.float32) * 0.05
            first = i * crosslines
            traces = np.ascontiguousarray(section.T)
            for x in range(crosslines):
                f.header[first + x] = {segyio.TraceField.INLINE_3D: i + 1, segyio.TraceField.CROSSLINE_3D: x + 1,
                                       segyio.TraceField.TRACE_SAMPLE_COUNT: samples,
                                       segyio.TraceField.TRACE_SAMPLE_INTERVAL: 4000}
                f.trace[first + x] = traces[x]
        f.bin.update({segyio.BinField.Samples: samples, segyio.BinField.Format: 5, segyio.BinField.Interval: 4000})


CHILD = """
import json, resource, sys, time
from saltviewer.training.section import predict_segy
args = json.loads(sys.argv[1])
started = time.monotonic()
info = predict_segy(args["path"], args["ws"], args["out"], args["versions"], overlap=args["overlap"], tta=args["tta"],
                    folds=args["folds"], chunks=tuple(args["chunks"]), num_workers=args["workers"],
                    scheduler=args.get("scheduler"))
print(json.dumps({"seconds": time.monotonic() - started, "tiles": info.n_tiles, "array": str(info.array),
                  "seconds_after_loading_models": info.settings["seconds_after_loading_models"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(["nice", "-n", "15", sys.executable, "-c", CHILD, json.dumps(args)], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def volume(work, versions, inlines, crosslines, samples, overlap, tta, folds, chunks, workers):
    from saltviewer import Workspace

    work.mkdir(parents=True, exist_ok=True)
    path = work / "volume.sgy"
    started = time.monotonic()
    if not path.is_file():
        make_volume(path, inlines, crosslines, samples)
    make_seconds = time.monotonic() - started
    versions = Workspace(work / "ws").resolve_models(versions)
    common = {"ws": str(work / "ws"), "versions": versions, "overlap": overlap, "tta": tta, "folds": folds,
              "chunks": list(chunks), "workers": workers}
    big = _child({**common, "path": str(path), "out": str(work / "out" / "volume_salt.sgy")})
    float32_bytes = inlines * crosslines * samples * 4
    result = {"shape": [inlines, crosslines, samples], "float32_gb": round(float32_bytes / 1e9, 3),
              "segy_bytes": path.stat().st_size, "make_seconds": round(make_seconds, 1), "versions": versions,
              "overlap": overlap, "tta": tta, "folds": folds, "chunks": list(chunks), "threads": workers,
              "local_dask": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in big.items()}}
    result["local_dask"]["tiles_per_second"] = round(big["tiles"] / big["seconds_after_loading_models"], 1)
    _save("volume", result)
    # The same tiles through the tile pipeline's model call, for tiles per second.
    result["tile_pipeline_tiles_per_second"] = _tile_pipeline_rate(work / "ws", versions, tta, folds)
    _save("volume", result)
    # A part of the volume on a LocalCluster of two workers against local threads.
    small = work / "small.sgy"
    if not small.is_file():
        make_volume(small, 6, crosslines, samples, seed=1)
    from distributed import LocalCluster

    local = _child({**common, "path": str(small), "out": str(work / "out" / "small_local.sgy")})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = _child({**common, "path": str(small), "out": str(work / "out" / "small_cluster.sgy"),
                         "scheduler": cluster.scheduler_address})
    import zarr

    a = zarr.open_array(local["array"], mode="r")[...]
    b = zarr.open_array(remote["array"], mode="r")[...]
    result["local_cluster_two_workers"] = {
        "shape": list(a.shape), "max_abs_difference": float(np.abs(a - b).max()),
        "identical": bool(np.array_equal(a, b)), "local_seconds": round(local["seconds"], 1),
        "cluster_seconds": round(remote["seconds"], 1)}
    _save("volume", result)


def _tile_pipeline_rate(ws, versions, tta, folds, n=2048):
    """Tiles per second of the tile pipeline's model call (predict_probabilities) on n tiles."""
    from saltviewer import Workspace
    from saltviewer.training.predict import load_version_models
    from saltviewer.training.tta import predict_probabilities

    x = np.random.default_rng(0).integers(0, 256, (n, 101, 101, 1), dtype=np.uint8)
    seconds = 0.0
    for version in versions:
        models, _ = load_version_models(Workspace(ws), version)
        models = [models[k] for k in folds] if folds else models
        predict_probabilities(models, x[:64], tta=tta)          # warm up
        started = time.monotonic()
        predict_probabilities(models, x, tta=tta)
        seconds += time.monotonic() - started
    return round(n / seconds, 1)


# --------------------------------------------------------------------------- screenshot
def screenshot(work, out=REPO / "docs" / "segy.png", section_name="section01", run="o0_file", click=(330.0, 700.0)):
    """docs/segy.png: a stitched TGS section in napari with its predicted salt and the SEG-Y dock (run under xvfb-run)."""
    import napari
    from qtpy.QtWidgets import QApplication

    from saltviewer.seismic import cut_tiles

    source = work / f"{section_name}.sgy"
    tiles = work / f"tiles_{section_name}"
    if not tiles.is_dir():
        cut_tiles(source, tiles)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 900)
    viewer.open(str(source), plugin="saltviewer")
    _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "SEG-Y")
    widget.load_salt(work / "out" / f"{section_name}_{run}.sgy")
    widget.set_tiles_folder(tiles)
    widget.pick(click)
    viewer.layers.selection.active = viewer.layers[section_name]
    viewer.reset_view()
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.1)
    viewer.window._qt_window.grab().save(str(out))
    viewer.close()
    print(out)


def axes_volume(path, inlines=24, crosslines=320, samples=260, t0=1200.0, dt=4.0, seed=3):
    """A small synthetic volume whose headers carry inline numbers 1001, 1003, ..., crossline numbers
    from 2001 and a first sample at `t0` ms (for the named-axes screenshot)."""
    import segyio

    from saltviewer.sample import synthetic_section

    base, _ = synthetic_section(np.random.default_rng(seed), -(-samples // 101), -(-crosslines // 101))
    base = (base[:samples, :crosslines].astype(np.float32) - 128) / 32
    spec = segyio.spec()
    spec.iline, spec.xline, spec.format, spec.sorting = 189, 193, 5, 2
    spec.samples = t0 + np.arange(samples) * dt
    spec.ilines, spec.xlines, spec.offsets = 1001 + 2 * np.arange(inlines), 2001 + np.arange(crosslines), [1]
    with segyio.create(str(path), spec) as f:
        t = 0
        for i, il in enumerate(spec.ilines):
            section = np.roll(base, 3 * i, axis=1)
            for x, xl in enumerate(spec.xlines):
                f.header[t] = {189: int(il), 193: int(xl), segyio.TraceField.DelayRecordingTime: int(t0),
                               segyio.TraceField.TRACE_SAMPLE_INTERVAL: int(dt * 1000)}
                f.trace[t] = np.ascontiguousarray(section[:, x])
                t += 1
        f.bin.update({segyio.BinField.Samples: samples, segyio.BinField.Format: 5,
                      segyio.BinField.Interval: int(dt * 1000)})


def axes_screenshots(work, section_name="section01", run="o0_file", out=REPO / "docs"):
    """docs/segy_section_axes.png and docs/segy_volume_axes.png: a stitched TGS section and a volume in
    napari with their predicted salt, the axes named from the headers (run under xvfb-run; the
    predictions are made first by ``segy predict`` in a child process, TensorFlow never beside Qt)."""
    volume = work / "axes_volume.sgy"
    if not volume.is_file():
        axes_volume(volume)
    salt = work / "out" / "axes_volume_salt.sgy"
    if not salt.is_file():
        subprocess.run([sys.executable, "-m", "saltviewer", "segy", "predict", str(volume), "-w", str(work / "ws"),
                        "--out", str(salt), "--no-tta", "-q"], check=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    import napari
    from qtpy.QtWidgets import QApplication

    def settle(seconds=2.0):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.05)

    shots = []
    for name, source, prediction, setup in (
            ("segy_section_axes.png", work / f"{section_name}.sgy", work / "out" / f"{section_name}_{run}.sgy", None),
            ("segy_volume_axes.png", volume, salt, "volume")):
        viewer = napari.Viewer(show=True)
        viewer.window._qt_window.resize(1500, 900)
        viewer.open(str(source), plugin="saltviewer")
        _, widget = viewer.window.add_plugin_dock_widget("saltviewer", "SEG-Y")
        widget.load_salt(prediction)
        viewer.axes.visible = True
        viewer.axes.labels = True
        section = viewer.layers[source.stem]
        if setup == "volume":
            viewer.dims.set_current_step(0, 10)
        viewer.reset_view()
        settle()
        # the cursor on a pixel: the status bar reads its place in header units
        middle = np.array(section.data.shape[-2:]) // 2
        point = section.data_to_world(tuple([10] * (section.ndim - 2) + list(middle)))
        viewer.cursor.position = tuple(point)
        settle()
        status = viewer._calc_status_from_cursor()
        path = out / name
        viewer.window._qt_window.grab().save(str(path))
        shots.append({"file": str(path.relative_to(REPO)), "axis_labels": list(viewer.dims.axis_labels),
                      "units": [str(u) for u in section.units], "scale": [float(v) for v in section.scale],
                      "translate": [float(v) for v in section.translate], "status_at_centre": str(status)})
        viewer.close()
    print(json.dumps(shots, indent=1))
    _save("axes_screenshots", shots)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["prepare", "section", "quiet", "volume", "screenshot", "axes"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/segy_bench"))
    parser.add_argument("--models", nargs="+", default=["latest"])
    parser.add_argument("--min-labelled", type=int, default=200)
    parser.add_argument("--runs", nargs="+", default=["0:file", "50:file", "50:tile"],
                        metavar="OVERLAP:SCALING[:nomute]",
                        help="section stage: the runs (default 0:file 50:file 50:tile; the mute on unless :nomute)")
    parser.add_argument("--limit", type=int, default=None, help="section stage: only the first N sections")
    parser.add_argument("--key", default=None, help="section stage: the results key (default section)")
    parser.add_argument("--tag", default="", help="section stage: a suffix for the output files of these runs")
    parser.add_argument("--shape", type=int, nargs=3, default=[512, 1024, 1024], metavar=("IL", "XL", "NS"))
    parser.add_argument("--overlap", type=int, default=0)
    parser.add_argument("--no-tta", dest="tta", action="store_false")
    parser.add_argument("--folds", type=int, nargs="+", default=None)
    parser.add_argument("--chunks", type=int, nargs=2, default=[2, 512])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not (TGS / "train" / "images").is_dir() and args.stage != "volume":
        raise SystemExit(f"the TGS data is not at {TGS}")
    if args.stage == "prepare":
        prepare(args.work, args.min_labelled)
    elif args.stage == "section":
        runs = [(int(r.split(":")[0]), r.split(":")[1], not r.endswith(":nomute")) for r in args.runs]
        key = args.key or ("section" if args.limit is None else f"section_first_{args.limit}")
        section(args.work, args.models, runs, args.limit, key, args.tag)
    elif args.stage == "quiet":
        quiet(args.work, args.models, limit=args.limit, overlap=args.overlap, key=args.key or f"quiet_o{args.overlap}")
    elif args.stage == "screenshot":
        screenshot(args.work)
    elif args.stage == "axes":
        axes_screenshots(args.work)
    else:
        volume(args.work, args.models, *args.shape, args.overlap, args.tta, args.folds, args.chunks, args.workers)


if __name__ == "__main__":
    main()
