"""Volumes lose no block: the race of issue 26, run many times, and the CLI on volumes wider than 512 crosslines.

Stages (results merged into benchmarks/results/segy.json under ``race`` and ``cli_volumes``):

``race``
    The race test of tests/core/test_segy.py (4 x 600 x 101 numpy volume, blocks of 1 section
    x 100 traces, 8 threads, a zarr output chunked (2, 600, 101) as ``segy predict`` chunked it
    before the fix), run ``--runs`` times; counts the runs that lost traces. It uses only
    `open_target` and `predict_volume`, so the same script measures an older checkout:
    ``PYTHONPATH=/tmp/sv_main python3 benchmarks/bench_segy_race.py race --label main``.
``cli``
    A synthetic SEG-Y volume wider than 512 crosslines (default 6 x 1100 x 101) predicted
    ``--runs`` times by ``saltviewer segy predict`` at the default ``--chunks`` (a reference run
    first, with one block per section). Each run's exit status, and its ``.sgy`` and ``.zarr``
    against the reference: traces that differ, traces all 0.0, NaN.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_segy import _save, make_volume  # noqa: E402  (one volume maker, one results file)


def _sigmoid(tiles, rows):
    return (1 / (1 + np.exp(-2 * tiles - rows[:, None, None] / 60.0))).astype(np.float32)


def race(runs, label):
    import saltviewer.seismic.volume as volume_module
    from saltviewer.seismic.volume import open_target, predict_volume

    volume = np.random.default_rng(4).standard_normal((4, 600, 101)).astype(np.float32)
    reference = predict_volume(volume, _sigmoid, 0, engine="memory")
    lost_per_run = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as work:
        for run in range(runs):
            target, finish = open_target(Path(work) / f"run{run}.zarr", volume.shape, np.float32, (2, 600, 101))
            try:
                predict_volume(volume, _sigmoid, 0, chunks=(1, 101), target=target, num_workers=8)
                written = target[...]
                lost_per_run.append(int((written != reference).any(axis=2).sum()))
            except Exception as error:   # noqa: BLE001 - the check after writing counts as a detected loss
                lost_per_run.append(f"failed: {str(error)[:160]}")
            finish(False)
    lost_runs = sum(1 for n in lost_per_run if n != 0)
    result = {"code": label, "module": volume_module.__file__, "runs": runs, "runs_losing_traces": lost_runs,
              "traces_per_run": 4 * 600, "lost_traces_per_run": lost_per_run,
              "seconds": round(time.monotonic() - started, 1),
              "command": f"nice -n 5 python3 benchmarks/bench_segy_race.py race --runs {runs} --label {label}"}
    return result


def _predict(source, workspace, out, extra):
    command = [sys.executable, "-m", "saltviewer", "segy", "predict", str(source), "-w", str(workspace),
               "--out", str(out), "--no-tta", "--folds", "0", "-q", *extra]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return done, time.monotonic() - started


def cli(runs, workspace, shape, work, label, workers):
    import zarr

    from saltviewer.seismic import open_segy

    work.mkdir(parents=True, exist_ok=True)
    source = work / "wide.sgy"
    if not source.is_file():
        make_volume(source, *shape, shift=9)
    done, seconds = _predict(source, workspace, work / "reference.sgy", ["--chunks", "1", "100000", "--workers", "1"])
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    reference = open_segy(work / "reference.sgy").read()
    rows = []
    for run in range(runs):
        out = work / f"run{run:02d}.sgy"
        extra = ["--workers", str(workers)] if workers else []
        done, seconds = _predict(source, workspace, out, extra)
        row = {"run": run, "exit": done.returncode, "seconds": round(seconds, 1)}
        if done.returncode:
            row["stderr"] = done.stderr.strip().splitlines()[-1:] if done.stderr.strip() else []
        if out.is_file():
            segy = open_segy(out).read()
            array = zarr.open_array(str(out.with_suffix(".zarr")), mode="r")[...]
            for name, values in (("sgy", segy), ("zarr", array)):
                difference = np.abs(values - reference)
                # a lost or misplaced block: traces all 0 (the fill before the fix) or NaN (the fill now), or
                # traces whose samples differ from the reference's in more than half their samples
                row[f"{name}_traces_all_zero"] = int((values == 0).all(axis=2).sum())
                row[f"{name}_nan"] = int(np.isnan(values).sum())
                row[f"{name}_traces_mostly_different"] = int(((difference > 1e-3).mean(axis=2) > 0.5).sum())
                # arithmetic noise (batches of other shapes, threads) read through the calibration steps
                row[f"{name}_samples_differing_1e-3"] = int((difference > 1e-3).sum())
                row[f"{name}_max_abs_difference"] = round(float(np.nanmax(difference)), 6)
        else:
            row["files_left"] = sorted(p.name for p in work.iterdir() if p.name.startswith(out.stem)
                                       or p.name.startswith(f".{out.stem}"))
        rows.append(row)
        print(row, flush=True)
    lost = sum(1 for r in rows if r["exit"] == 0 and any(r.get(f"{name}_{what}") for name in ("sgy", "zarr")
                                                         for what in ("traces_all_zero", "nan",
                                                                      "traces_mostly_different")))
    return {"code": label, "shape": list(shape), "runs": runs, "chunks": "default (2 512)",
            "workers": workers or "default (one per core)", "exit_0_with_lost_traces": lost,
            "failed_runs": sum(1 for r in rows if r["exit"]), "reference": "--chunks 1 100000 --workers 1",
            "runs_detail": rows,
            "command": f"nice -n 5 python3 benchmarks/bench_segy_race.py cli --runs {runs} --workspace {workspace}"
                       + (f" --workers {workers}" if workers else "")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["race", "cli"])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/segy_dev/ws"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/segy_race"))
    parser.add_argument("--shape", type=int, nargs=3, default=[6, 1100, 101])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--key", default=None, help="results key (default race / cli_volumes, with the label)")
    args = parser.parse_args()
    if args.stage == "race":
        _save(args.key or f"race ({args.label})", race(args.runs, args.label))
    else:
        _save(args.key or f"cli_volumes ({args.label})",
              cli(args.runs, args.workspace, args.shape, args.work, args.label, args.workers))


if __name__ == "__main__":
    main()
