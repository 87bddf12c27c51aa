"""Score a submission against ground truth."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._errors import DataError
from .metric import competition_score
from .rle import TILE_SHAPE, rle_decode
from .submission import read_masks_csv, read_submission
from .tiles import check_id, read_mask

__all__ = ["score_submission", "read_truth", "ScoreReport"]


@dataclass
class ScoreReport:
    """What `score_submission` found."""

    score: float
    n_scored: int
    n_missing: int      # truth ids absent from the submission (scored as empty predictions)
    n_extra: int        # submission ids absent from the truth (ignored)


def read_truth(path):
    """Ground-truth masks from a ``train.csv``-style CSV, a folder of mask PNGs, or a dataset folder.

    Returns
    -------
    masks : dict of str to (101, 101) ndarray of bool
    """
    path = Path(path)
    if path.is_file():
        return read_masks_csv(path)
    if not path.is_dir():
        raise DataError(f"--truth {path}: no such file or folder; expected a train.csv-style CSV or a folder of mask PNGs.")
    if (path / "train" / "masks").is_dir():
        path = path / "train" / "masks"
    elif (path / "train.csv").is_file():
        return read_masks_csv(path / "train.csv")
    files = sorted(path.glob("*.png"))
    if not files:
        raise DataError(f"--truth {path}: holds no mask PNGs or train.csv.")
    masks = {}
    for file in files:
        masks[check_id(file.stem, str(file))] = read_mask(file)
    return masks


def score_submission(submission, truth):
    """Score a submission CSV against ground truth with the competition metric.

    Parameters
    ----------
    submission : str or Path
        An ``id,rle_mask`` CSV.
    truth : str or Path or dict
        See `read_truth`; or a dict of id to mask.

    Returns
    -------
    report : ScoreReport
        Truth ids missing from the submission count as empty predictions; submission ids
        not in the truth are ignored. Both are counted.
    """
    rles = read_submission(submission)
    masks = truth if isinstance(truth, dict) else read_truth(truth)
    if not masks:
        raise DataError(f"--truth {truth}: holds no masks.")
    ids = list(masks)
    truth_stack = np.stack([masks[i] for i in ids])
    prediction = np.zeros_like(truth_stack)
    missing = 0
    for k, tile_id in enumerate(ids):
        rle = rles.get(tile_id)
        if rle is None:
            missing += 1
        elif rle:
            prediction[k] = rle_decode(rle, TILE_SHAPE, where=f"{submission} id {tile_id}")
    extra = len(set(rles) - set(masks))
    return ScoreReport(competition_score(truth_stack, prediction), len(ids), missing, extra)
