"""Opening ../shared/tgs, packing its 21,200 tiles once, and reading a tile: PNG vs packed slice.

Run: python benchmarks/bench_dataset.py
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import TGS, best_of, write_results  # noqa: E402

from saltviewer import Workspace, make_sample, open_dataset  # noqa: E402
from saltviewer.cache import pack_tiles  # noqa: E402


def main():
    results = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-dataset-"))
    try:
        start = time.perf_counter()
        make_sample(tmp / "sample", n_train=400, n_test=100, seed=0)
        results["sample_500_tiles_seconds"] = round(time.perf_counter() - start, 2)
        if not (TGS / "train").is_dir():
            print(f"no data at {TGS}: only the sample was timed")
        else:
            start = time.perf_counter()
            dataset = open_dataset(TGS)
            results["open_21200_tiles_seconds"] = round(time.perf_counter() - start, 3)
            workspace = Workspace(tmp / "ws")
            start = time.perf_counter()
            pack_tiles(dataset, workspace)
            results["first_pack_seconds"] = round(time.perf_counter() - start, 2)
            start = time.perf_counter()
            packed = open_dataset(TGS).use_cache(workspace)
            results["reopen_with_pack_seconds"] = round(time.perf_counter() - start, 3)
            rng = np.random.default_rng(0)
            picks = rng.integers(0, len(dataset), 200)
            png = best_of(lambda: [dataset.image(int(i)) for i in picks], repeat=3) / len(picks)
            sliced = best_of(lambda: [packed.image(int(i)) for i in picks], repeat=3) / len(picks)
            results["tile_from_png_ms"] = round(png * 1e3, 3)
            results["tile_from_pack_ms"] = round(sliced * 1e3, 4)
            results["pack_speedup"] = round(png / sliced, 1)
            results["pack_size_mb"] = round(sum(p.stat().st_size for p in packed._packed.path.glob("*.npy")) / 2**20, 1)
        write_results("dataset", results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
