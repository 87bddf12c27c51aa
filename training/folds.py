"""K-fold splits stratified by salt coverage."""

import numpy as np

from .._errors import SaltviewerError
from ..explore import coverage_classes      # the one coverage-class rule, re-exported here

__all__ = ["coverage_classes", "stratified_folds"]


def stratified_folds(masks, n_folds=5, seed=0):
    """Assign each labelled tile a validation fold, balanced in coverage class.

    Parameters
    ----------
    masks : (N, H, W) ndarray of bool
    n_folds : int
        At least 2 for k-fold cross-validation. With 1, a stratified fifth of the tiles
        forms the single validation fold (fold 0) and the rest only train (fold -1).
    seed : int

    Returns
    -------
    folds : (N,) ndarray of int
        The validation fold of each tile, in ``0..n_folds-1`` (or -1: train only).
    """
    from sklearn.model_selection import StratifiedKFold

    classes = coverage_classes(masks)
    n = len(classes)
    if n_folds < 1:
        raise SaltviewerError(f"--folds must be at least 1; got {n_folds}.")
    splits = 5 if n_folds == 1 else n_folds
    if n < splits:
        raise SaltviewerError(f"--folds {n_folds}: needs at least {splits} labelled tiles; got {n}.")
    # Merge classes too rare for the number of folds into their neighbours.
    counts = np.bincount(classes, minlength=11)
    for c in range(11):
        if 0 < counts[c] < splits:
            target = c + 1 if c < 10 and c > 0 else c - 1
            while 0 <= target <= 10 and counts[target] == 0:
                target += 1 if target > c else -1
            if 0 <= target <= 10 and target != c:
                classes[classes == c] = target
                counts[target] += counts[c]
                counts[c] = 0
    folds = np.empty(n, int)
    if np.bincount(classes).max() < splits:
        rng = np.random.default_rng(seed)
        folds[rng.permutation(n)] = np.arange(n) % splits
    else:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # a class smaller than n_folds after merging is fine
            splitter = StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed)
            for k, (_, val) in enumerate(splitter.split(np.zeros(n), classes)):
                folds[val] = k
    if n_folds == 1:
        folds[folds != 0] = -1
    return folds
