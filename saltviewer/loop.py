"""Simulating the curation loop where the truth is known: splits and a reviewer.

`benchmarks/bench_loop.py` uses these to measure what reviewing pseudo-labels buys; they are
plain functions so that tests can check them on tiny data.
"""

import numpy as np

from ._errors import SaltviewerError, check_fraction

__all__ = ["loop_split", "simulate_review", "ReviewTally"]


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
