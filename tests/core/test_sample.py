import csv
import os
import subprocess
import sys

import numpy as np

from saltviewer import check_dataset, make_sample, open_dataset
from saltviewer.sample import TILE


def test_sample_is_valid_deterministic_and_about_forty_percent_empty(tmp_path):
    a = make_sample(tmp_path / "a", n_train=120, n_test=30, seed=3)
    b = make_sample(tmp_path / "b", n_train=120, n_test=30, seed=3)
    c = make_sample(tmp_path / "c", n_train=120, n_test=30, seed=4)
    assert check_dataset(a) == []
    for name in ("train.csv", "depths.csv", "sample_layout.csv"):
        assert (a / name).read_text() == (b / name).read_text()
    assert (a / "train.csv").read_text() != (c / "train.csv").read_text()
    ds = open_dataset(a)
    assert (ds.split == "train").sum() == 120 and (ds.split == "test").sum() == 30
    masks = ds.masks(ds.indices("train"))
    empty = ~masks.any(axis=(1, 2))
    assert 0.3 <= empty.mean() <= 0.5
    coverage = masks.mean(axis=(1, 2))
    assert (coverage > 0.5).sum() >= 10 and ((coverage > 0) & (coverage < 0.5)).sum() >= 10
    assert np.isfinite(ds.depths).all() and ds.depths.min() > 0


def test_sample_does_not_depend_on_the_hash_seed(tmp_path):
    """The same seed gives the same files in two interpreters with different string hashing."""
    code = "import sys; from saltviewer import make_sample; make_sample(sys.argv[1], 30, 10, seed=7)"
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path / hash_seed)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    for name in ("train.csv", "sample_layout.csv"):
        assert (tmp_path / "1" / name).read_text() == (tmp_path / "2" / name).read_text()


def test_sample_tiles_continue_their_neighbours(tmp_path):
    """Tiles next to each other in the recorded layout share a continuous edge."""
    root = make_sample(tmp_path / "s", n_train=150, n_test=50, seed=1)
    ds = open_dataset(root)
    with open(root / "sample_layout.csv") as handle:
        layout = {(int(r["section"]), int(r["row"]), int(r["col"])): r["id"] for r in csv.DictReader(handle)}
    assert len(layout) == 200
    neighbour_steps, random_steps = [], []
    rng = np.random.default_rng(0)
    for (s, r, c), tile_id in layout.items():
        right = layout.get((s, r, c + 1))
        if right is None:
            continue
        a, b = ds.image(tile_id).astype(float), ds.image(right).astype(float)
        neighbour_steps.append(np.abs(a[:, -1] - b[:, 0]).mean())
        other = ds.image(int(rng.integers(len(ds)))).astype(float)
        random_steps.append(np.abs(a[:, -1] - other[:, 0]).mean())
    assert len(neighbour_steps) > 50
    assert np.median(neighbour_steps) < 0.5 * np.median(random_steps)
    assert TILE == 101


def test_sample_refuses_a_non_empty_folder(tmp_path):
    import pytest

    from saltviewer import SaltviewerError

    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(SaltviewerError, match="not empty"):
        make_sample(tmp_path / "x", 5, 5)
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"
