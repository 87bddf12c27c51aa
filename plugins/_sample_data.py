"""Sample data: a small synthetic dataset written to a temporary folder and opened."""

import tempfile
from pathlib import Path

__all__ = ["make_sample_data", "sample_folder"]


def sample_folder(n_train=60, n_test=20, seed=0):
    """Write (once per process) the synthetic sample and return its folder."""
    from saltviewer import make_sample

    key = (n_train, n_test, seed)
    if key not in _MADE or not Path(_MADE[key]).is_dir():
        root = Path(tempfile.mkdtemp(prefix="saltviewer-sample-")) / "data"
        _MADE[key] = make_sample(root, n_train=n_train, n_test=n_test, seed=seed)
    return _MADE[key]


_MADE = {}


def make_sample_data():
    """npe2 sample data: layers of the synthetic sample (60 labelled and 20 unlabelled tiles)."""
    from ._reader import read_folder

    return read_folder(sample_folder())
