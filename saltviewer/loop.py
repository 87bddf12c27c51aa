"""Simulating the curation loop where the truth is known: splits, a reviewer and the figures.

`benchmarks/bench_loop.py` uses these to measure what reviewing pseudo-labels buys; they are
plain functions so that tests can check them on tiny data (``tests/core/test_loop.py``, the two
figures against slow, obvious references).
"""

from dataclasses import dataclass

import numpy as np

from ._errors import SaltviewerError, check_fraction

__all__ = ["loop_split", "simulate_review", "ReviewTally", "ReviewTimes", "seed_tile_interval", "paired_ci", "precision_curve"]


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
    """What a simulated review did: ``reviewed``, ``accepted``, ``picked`` (a member's mask taken for
    a disputed tile), ``corrected``, ``drawn`` (from nothing), ``skipped``, and ``seconds``, the
    reviewer's time under `ReviewTimes`."""

    @property
    def minutes(self):
        return self.get("seconds", 0.0) / 60.0


@dataclass(frozen=True)
class ReviewTimes:
    """How long a reviewer takes per decision, in seconds (the loop benchmark's time model).

    Accepting or rejecting a proposal, or taking one model's mask for a disputed tile, is a
    look and a key (2 s); correcting a proposal with the brush or polygon tools 25 s; a mask
    drawn from nothing 60 s (the time a hand label costs).

    Examples
    --------
    >>> ReviewTimes().seconds(accepted=10, corrected=2, drawn=1)
    130.0
    """

    accept: float = 2.0
    reject: float = 2.0
    pick: float = 2.0
    correct: float = 25.0
    draw: float = 60.0

    def seconds(self, accepted=0, rejected=0, picked=0, corrected=0, drawn=0):
        """Total seconds for so many decisions of each kind."""
        return float(accepted * self.accept + rejected * self.reject + picked * self.pick
                     + corrected * self.correct + drawn * self.draw)

    def tiles_from_nothing(self, seconds):
        """How many masks drawn from nothing fit in `seconds` (rounded)."""
        return int(round(float(seconds) / self.draw))


def simulate_review(store, dataset, tiles, truth, *, accept_at=0.8, kind="pseudo", user="simulated-reviewer",
                    members=None, missing="skip", times=ReviewTimes()):
    """Review tiles of the curation store as a person who sees the truth would.

    A proposal whose per-image competition score against the truth is at least `accept_at`
    is accepted; any other is corrected: the truth is put in force (the effort of drawing
    it). A disputed proposal cannot be accepted: the reviewer takes the best member's mask
    when it scores at least `accept_at`, else corrects it. Every decision is recorded as
    made on a tile shown (``how="tile"``), so the tiles train as labels.

    Parameters
    ----------
    store : CurationStore
    dataset : Dataset
    tiles : sequence of str
        In the order reviewed.
    truth : mapping of str to (101, 101) ndarray of bool
    accept_at : float in [0, 1]
    members : callable, optional
        ``members(tile)`` -> list of ``(version, mask)``, the ensemble members' masks of a
        tile (needed for disputed tiles; without it they are corrected).
    missing : {"skip", "draw"}
        A tile without an item of `kind`: skipped, or drawn from nothing (the truth put in force).
    times : ReviewTimes
        The time model for ``tally["seconds"]``.

    Returns
    -------
    tally : ReviewTally
    """
    from .metric import image_precisions

    accept_at = check_fraction(accept_at, "accept_at")
    if missing not in ("skip", "draw"):
        raise SaltviewerError(f"missing must be 'skip' or 'draw', got {missing!r}.")
    tally = ReviewTally(reviewed=0, accepted=0, picked=0, corrected=0, drawn=0, skipped=0, seconds=0.0)

    def score(mask, proposal):
        return image_precisions(mask[None], np.asarray(proposal, bool)[None])[0]

    for tile in tiles:
        mask = np.asarray(truth[tile], bool)
        item = store.item(dataset, tile, kind)
        if item is None or item.proposed_mask is None:
            if missing == "skip":
                tally["skipped"] += 1
                continue
            store.correct(dataset, tile, mask, kind, user=user, how="tile", source="drawn from nothing")
            tally["drawn"] += 1
        elif item.disputed:
            options = list(members(tile)) if members is not None else []
            scored = [(score(mask, m), version, m) for version, m in options]
            best = max(scored, key=lambda row: row[0]) if scored else None
            if best is not None and best[0] >= accept_at:
                store.correct(dataset, tile, best[2], kind, user=user, how="tile", source=best[1])
                tally["picked"] += 1
            else:
                store.correct(dataset, tile, mask, kind, user=user, how="tile")
                tally["corrected"] += 1
        elif score(mask, item.proposed_mask) >= accept_at:
            store.accept(dataset, tile, kind, user=user, how="tile")
            tally["accepted"] += 1
        else:
            store.correct(dataset, tile, mask, kind, user=user, how="tile")
            tally["corrected"] += 1
        tally["reviewed"] += 1
    tally["seconds"] = times.seconds(accepted=tally["accepted"], picked=tally["picked"],
                                     corrected=tally["corrected"], drawn=tally["drawn"])
    return tally


def seed_tile_interval(diffs, seed=0, n=10000, level=95):
    """Mean gain over seeds and its bootstrap interval over seeds and tiles together.

    Each resample draws the seeds with replacement and, within each seed drawn, its tiles
    with replacement: the interval holds the variance of training (seeds) as well as that of
    the evaluation tiles.

    Parameters
    ----------
    diffs : sequence of (m,) array_like of float
        Per seed, the per-tile score differences (arm minus baseline) on the evaluation tiles.
    seed, n : int
        The bootstrap's seed and number of resamples.
    level : float
        Coverage of the interval, in percent.

    Returns
    -------
    mean, low, high : float
        The mean over seeds of the mean gain, and the interval's ends.

    Examples
    --------
    >>> seed_tile_interval([[0.1, 0.1], [0.1, 0.1]], n=50)      # the same gain everywhere
    (0.1, 0.1, 0.1)
    """
    diffs = [np.asarray(d, float) for d in diffs]
    if not diffs or any(d.ndim != 1 or not len(d) for d in diffs):
        raise SaltviewerError("seed_tile_interval needs, per seed, a non-empty list of per-tile differences.")
    rng = np.random.default_rng(seed)
    # per seed, n resampled tile means; then per resample, seeds drawn with replacement
    tile_means = np.stack([d[rng.integers(0, len(d), size=(n, len(d)))].mean(axis=1) for d in diffs], axis=1)
    chosen = rng.integers(0, len(diffs), size=(n, len(diffs)))
    means = np.take_along_axis(tile_means, chosen, axis=1).mean(axis=1)
    tail = (100 - level) / 2
    return (float(np.mean([d.mean() for d in diffs])), float(np.percentile(means, tail)),
            float(np.percentile(means, 100 - tail)))


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
