"""Simulating the curation loop where the truth is known: splits, a reviewer and the figures.

`benchmarks/bench_loop.py` uses these to measure what reviewing pseudo-labels buys; they are
plain functions so that tests can check them on tiny data (``tests/core/test_loop.py``, the two
figures against slow, obvious references).
"""

import numpy as np

from ._errors import SaltviewerError, check_fraction

__all__ = ["loop_split", "simulate_review", "ReviewTally", "paired_ci", "precision_curve"]


def loop_split(ids, masks, n_labelled, n_eval, seed=0, n_pool=None):
    """Split labelled tiles into a labelled part, a pool and an evaluation part.

    Each coverage class (`saltviewer.explore.coverage_classes`) is shuffled and cut in the same proportions, so
    the three parts hold the same mix of empty, small and large salt bodies.

    Parameters
    ----------
    ids : sequence of str
    masks : (N, H, W) ndarray of bool
    n_labelled, n_eval : int
        Sizes asked for (met to within rounding per class).
    seed : int
    n_pool : int, optional
        Size of the pool; by default every tile left.

    Returns
    -------
    parts : dict of str to list of str
        ``{"labelled": [...], "pool": [...], "eval": [...]}``, each sorted; no id is in two parts.

    Examples
    --------
    >>> masks = np.zeros((10, 4, 4), bool); masks[5:, :2] = True
    >>> parts = loop_split([f"t{i}" for i in range(10)], masks, n_labelled=4, n_eval=2)
    >>> [len(parts[k]) for k in ("labelled", "pool", "eval")]
    [4, 4, 2]
    """
    ids = list(ids)
    masks = np.asarray(masks, bool)
    if len(ids) != len(masks):
        raise SaltviewerError(f"ids and masks: {len(ids)} ids but {len(masks)} masks.")
    n = len(ids)
    for name, value in (("n_labelled", n_labelled), ("n_eval", n_eval)):
        if not 0 <= int(value) <= n:
            raise SaltviewerError(f"{name} must be in 0..{n}, got {value!r}.")
    if n_labelled + n_eval > n:
        raise SaltviewerError(f"n_labelled + n_eval = {n_labelled + n_eval} is more than the {n} tiles.")
    from .explore import coverage_classes

    classes = coverage_classes(masks)
    rng = np.random.default_rng(seed)
    parts = {"labelled": [], "pool": [], "eval": []}
    for c in np.unique(classes):
        rows = rng.permutation(np.flatnonzero(classes == c))
        k_eval = int(round(len(rows) * n_eval / n))
        k_lab = min(len(rows) - k_eval, int(round(len(rows) * n_labelled / n)))
        end = len(rows) if n_pool is None else k_eval + k_lab + int(round(len(rows) * n_pool / n))
        parts["eval"].extend(rows[:k_eval])
        parts["labelled"].extend(rows[k_eval:k_eval + k_lab])
        parts["pool"].extend(rows[k_eval + k_lab:end])
    return {name: sorted(ids[i] for i in rows) for name, rows in parts.items()}


class ReviewTally(dict):
    """What a simulated review did: ``reviewed``, ``accepted``, ``corrected``, ``skipped``."""


def simulate_review(store, dataset, tiles, truth, *, accept_at=0.8, kind="pseudo", user="simulated-reviewer"):
    """Review tiles of the curation store as a person who sees the truth would.

    A proposal whose per-image competition score against the truth is at least `accept_at`
    is accepted; any other is corrected: the truth is put in force (the effort of drawing
    it). Tiles without an item of `kind` are skipped.

    Parameters
    ----------
    store : CurationStore
    dataset : Dataset
    tiles : sequence of str
        In the order reviewed.
    truth : mapping of str to (101, 101) ndarray of bool
    accept_at : float in [0, 1]

    Returns
    -------
    tally : ReviewTally
    """
    from .metric import image_precisions

    accept_at = check_fraction(accept_at, "accept_at")
    tally = ReviewTally(reviewed=0, accepted=0, corrected=0, skipped=0)
    for tile in tiles:
        item = store.item(dataset, tile, kind)
        if item is None or item.proposed_mask is None:
            tally["skipped"] += 1
            continue
        mask = np.asarray(truth[tile], bool)
        score = image_precisions(mask[None], np.asarray(item.proposed_mask, bool)[None])[0]
        if score >= accept_at:
            store.accept(dataset, tile, kind, user=user)
            tally["accepted"] += 1
        else:
            store.correct(dataset, tile, mask, kind, user=user)
            tally["corrected"] += 1
        tally["reviewed"] += 1
    return tally


def paired_ci(a, b, seed=0, n=10000):
    """Mean of ``b - a`` over images and its 95% bootstrap interval (images resampled in pairs).

    Parameters
    ----------
    a, b : (m,) array_like of float
        Per-image scores of two models on the same images, in the same order.
    seed : int
    n : int
        Bootstrap resamples.

    Returns
    -------
    mean, low, high : float
        ``mean(b - a)`` and the 2.5 and 97.5 percentiles of the resampled means.

    Examples
    --------
    >>> paired_ci([0.25, 0.5], [0.5, 0.75], n=100)      # the same gain on every image
    (0.25, 0.25, 0.25)
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.ndim != 1 or a.shape != b.shape or not len(a):
        raise SaltviewerError(f"paired_ci needs two equally long, non-empty lists of per-image scores; "
                              f"got shapes {a.shape} and {b.shape}.")
    diff = b - a
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n, len(diff)))].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def precision_curve(ensemble, indices, truth, shares, ranks, empty_share):
    """Mean per-image precision of the ranked selection at each share, for each ranking.

    Parameters
    ----------
    ensemble : saltviewer.Ensemble
    indices : (n,) ndarray of int
        Dataset positions of the tiles to choose from.
    truth : (n, 101, 101) ndarray of bool
        Their true masks (known in a benchmark, hidden from training).
    shares : sequence of float
        Shares of the tiles selected (`saltviewer.pseudo.select_candidates`, ``share=``).
    ranks : sequence of str
        Rankings (``rank=``).
    empty_share : float or None

    Returns
    -------
    curves : dict
        ``{rank: [{share, candidates, salt, empty, precision, salt_precision, empty_precision}]}``;
        a precision is None where the selection holds no such tile.
    threshold : dict
        The same for the thresholds' criterion (``"agreement"``).
    overall : dict
        ``{all_tiles_precision, tiles}``: the consensus masks' precision on all the tiles.
    """
    from .metric import image_precisions
    from .pseudo import select_candidates

    scores = ensemble.scores(indices, truth=False, images=True)
    consensus = np.zeros((len(indices), 101, 101), bool)
    where = {int(i): k for k, i in enumerate(indices)}
    for positions, _, masks in ensemble.consensus(indices, chunk=512):
        for i, mask in zip(positions, masks):
            consensus[where[int(i)]] = mask
    precision = image_precisions(truth, consensus)

    def point(selection):
        chosen = selection.positions
        salt = ~selection.empty
        return {"candidates": int(len(chosen)), "salt": int(salt.sum()), "empty": int((~salt).sum()),
                "precision": round(float(precision[chosen].mean()), 4) if len(chosen) else None,
                "salt_precision": round(float(precision[chosen][salt].mean()), 4) if salt.any() else None,
                "empty_precision": round(float(precision[chosen][~salt].mean()), 4) if (~salt).any() else None}

    curves = {}
    for rank in ranks:
        curves[rank] = [dict(share=s, **point(select_candidates(scores, share=s, rank=rank, empty_share=empty_share)))
                        for s in shares]
    threshold = point(select_candidates(scores, "agreement", empty_share=empty_share))
    return curves, threshold, {"all_tiles_precision": round(float(precision.mean()), 4), "tiles": len(indices)}
