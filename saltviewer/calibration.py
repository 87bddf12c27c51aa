"""Calibrated pixel probabilities for a model version, from its out-of-fold predictions.

A version trained to the end with the Lovasz hinge outputs logits whose sign is right but whose
size is not a probability: its sigmoid stays near 0.5 (on the TGS data, nearly every pixel of
every tile lies in [0.2, 0.8]). Rules that read a probability as a confidence - uncertain pixels,
the heat map, the CRF - then see every pixel as uncertain. So each version gets a calibration
table: for each of the 256 stored levels ``round(p * 255)``, the share of out-of-fold pixels at
that level that are salt, made non-decreasing (isotonic regression) and stored as a level again.
It is a lookup table applied to the stored uint8 maps when they are read; the maps on disk stay
as the model made them.

The table is fitted on the version's ``oof.npz`` against the dataset's masks the first time it
is needed and kept in the version's card (``calibration``) when the card can be written.
"""

import numpy as np

from ._errors import SaltviewerError

__all__ = ["fit_calibration", "version_calibration", "MIN_CALIBRATION_PIXELS"]

LEVELS = 256
MIN_CALIBRATION_PIXELS = 100_000
"""Fewer out-of-fold pixels than this (about 10 tiles) give no table: too little to trust."""


def _isotonic(values, weights):
    """Weighted least-squares non-decreasing fit (pool adjacent violators)."""
    means, masses, lengths = [], [], []
    for value, weight in zip(values, weights):
        means.append(float(value))
        masses.append(float(weight))
        lengths.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            mass = masses[-2] + masses[-1]
            mean = (means[-2] * masses[-2] + means[-1] * masses[-1]) / mass
            length = lengths[-2] + lengths[-1]
            del means[-1], masses[-1], lengths[-1]
            means[-1], masses[-1], lengths[-1] = mean, mass, length
    return np.repeat(np.array(means), lengths)


def fit_calibration(levels, truth, chunk=512):
    """The calibration table of stored maps against true masks.

    Parameters
    ----------
    levels : (N, 101, 101) ndarray of uint8
        Stored probabilities, ``round(p * 255)``.
    truth : (N, 101, 101) ndarray of bool

    Returns
    -------
    table : (256,) ndarray of uint8
        Calibrated level for every stored level; non-decreasing.
    """
    levels = np.asarray(levels)
    truth = np.asarray(truth)
    if levels.dtype != np.uint8 or levels.shape != truth.shape:
        raise SaltviewerError(f"calibration: need uint8 levels and masks of one shape, got {levels.dtype} "
                              f"{levels.shape} and {truth.shape}.")
    total = np.zeros(LEVELS, np.int64)
    salt = np.zeros(LEVELS, np.int64)
    for start in range(0, len(levels), chunk):
        part = levels[start:start + chunk].reshape(-1)
        hits = truth[start:start + chunk].reshape(-1).astype(bool)
        total += np.bincount(part, minlength=LEVELS)
        salt += np.bincount(part[hits], minlength=LEVELS)
    if total.sum() == 0:
        raise SaltviewerError("calibration: no pixels to fit on.")
    prior = salt.sum() / total.sum()
    # one pseudo-pixel at the overall salt share keeps empty levels defined and rare ones tame
    share = (salt + prior) / (total + 1.0)
    fitted = _isotonic(share, total + 1.0)
    return np.clip(np.rint(fitted * 255), 0, 255).astype(np.uint8)


def version_calibration(workspace, version, dataset=None, store=True, card=None):
    """A version's calibration table, or None when it cannot be made.

    Read from the card when it is there; otherwise fitted on the version's ``oof.npz`` against
    `dataset`'s masks (the out-of-fold tiles found in `dataset`, at least
    `MIN_CALIBRATION_PIXELS` pixels) and, if `store`, added to the card.

    `card` is the version's card when the caller has already read it.

    Returns
    -------
    table : (256,) ndarray of uint8 or None
    """
    card = workspace.card(version) if card is None else card
    kept = card.get("calibration")
    if kept is not None:
        table = np.asarray(kept.get("table", ()), np.int64)
        if table.shape != (LEVELS,) or table.min() < 0 or table.max() > 255 or np.any(np.diff(table) < 0):
            raise SaltviewerError(f"model version {version}: the card's calibration table is damaged "
                                  f"(need 256 non-decreasing levels in 0..255).")
        return table.astype(np.uint8)
    if dataset is None:
        return None
    path = workspace.version_dir(version) / "oof.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path) as oof:
            ids, probabilities = [str(i) for i in oof["ids"]], oof["probabilities"]
    except (OSError, ValueError, KeyError) as error:
        raise SaltviewerError(f"{path}: cannot be read as out-of-fold predictions ({error}).") from None
    rows, positions = [], []
    for k, tile_id in enumerate(ids):
        try:
            index = dataset.index(tile_id)
        except (KeyError, SaltviewerError):
            continue
        if dataset.has_mask[index]:
            rows.append(k)
            positions.append(index)
    if not len(probabilities) or len(rows) * probabilities[0].size < MIN_CALIBRATION_PIXELS:
        return None
    levels = probabilities[rows]
    if levels.dtype != np.uint8:
        levels = np.rint(np.clip(levels.astype(np.float32), 0, 1) * 255).astype(np.uint8)
    table = fit_calibration(levels, dataset.masks(np.array(positions)))
    if store:
        try:
            workspace.update_card(version, calibration={
                "table": table.tolist(), "tiles": len(rows), "fitted_on": str(dataset.root),
                "method": "share of salt per stored level on out-of-fold pixels, isotonic"})
        except (OSError, SaltviewerError):
            pass                    # a read-only workspace: fitted again next time
    return table
