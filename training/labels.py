"""What a training run learns from besides the training masks: pseudo-labels and corrections from
the curation store, and the parent version's folds and scores when fine-tuning."""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._errors import SaltviewerError

__all__ = ["TrainingLabels", "load_training_labels", "load_pseudo_labels", "load_label_corrections", "parent_folds",
           "parent_score", "mask_hash", "stable_fold"]


def _no_masks():
    return np.zeros((0, 101, 101), bool)


@dataclass
class TrainingLabels:
    """What a training run learns from besides the dataset's training masks.

    Attributes
    ----------
    reviewed_ids : list of str
        Unlabelled tiles a person decided while seeing them (corrected, or accepted in the
        Review dock, on a grid page or in a mosaic): they train as labels.
    reviewed_masks : (R, 101, 101) ndarray of bool
    pseudo_ids : list of str
        Unlabelled tiles accepted unseen in a batch (or given as a dict): pseudo-labels.
    pseudo_masks : (P, 101, 101) ndarray of bool
    corrections : dict of str to (101, 101) ndarray of bool
        Training masks a person replaced in review.
    """

    reviewed_ids: list = field(default_factory=list)
    reviewed_masks: np.ndarray = field(default_factory=_no_masks)
    pseudo_ids: list = field(default_factory=list)
    pseudo_masks: np.ndarray = field(default_factory=_no_masks)
    corrections: dict = field(default_factory=dict)


def stable_fold(tile_id, folds):
    """The validation fold of a tile that joins the labels later (a reviewed tile).

    It depends on the tile's id alone, not on what else joined, so the tile keeps it from
    version to version, and tiles that join later do not move it.

    Parameters
    ----------
    tile_id : str
    folds : int
        k of the k-fold split; with 1, one tile in five validates (fold 0), the others
        train only (-1), as `stratified_folds` does.

    Returns
    -------
    fold : int

    Examples
    --------
    >>> stable_fold("0a1b2c3d4e", 3) == stable_fold("0a1b2c3d4e", 3)
    True
    >>> sorted({stable_fold(f"tile{i}", 3) for i in range(50)})
    [0, 1, 2]
    """
    value = int.from_bytes(hashlib.sha1(str(tile_id).encode()).digest()[:8], "big")
    if int(folds) <= 1:
        return 0 if value % 5 == 0 else -1
    return int(value % int(folds))


def mask_hash(ids, masks):
    """A short fingerprint of masks and their tile ids (kept in the card)."""
    digest = hashlib.sha1()
    for tile_id, mask in zip(ids, masks):
        digest.update(tile_id.encode())
        digest.update(np.packbits(mask).tobytes())
    return digest.hexdigest()[:16]


def load_training_labels(pseudo_labels, dataset, workspace):
    """Reviewed tiles, pseudo-labels and label corrections for a training run, from one read of the store.

    With ``pseudo_labels="accepted"`` all come from the same `masks_in_force` snapshot of
    the curation store, so a decision made while training starts is in all or in none: the
    curated masks of unlabelled tiles a person saw become labels (``reviewed``), those
    accepted unseen pseudo-labels. A dict of masks gives pseudo-labels only.

    Returns
    -------
    labels : TrainingLabels
    """
    if isinstance(pseudo_labels, str) and pseudo_labels == "accepted" and Path(workspace.store_path).is_file():
        from ..store import CurationStore, masks_in_force

        with CurationStore(workspace.store_path) as store:
            in_force = masks_in_force(store, dataset)
        reviewed_ids, reviewed_masks = in_force.pseudo_label_arrays(reviewed=True)
        pseudo_ids, pseudo_masks = in_force.pseudo_label_arrays(reviewed=False)
        return TrainingLabels(reviewed_ids, reviewed_masks, pseudo_ids, pseudo_masks, in_force.label_corrections())
    ids, masks = load_pseudo_labels(pseudo_labels, dataset, workspace)
    return TrainingLabels(pseudo_ids=ids, pseudo_masks=masks,
                          corrections=load_label_corrections(pseudo_labels, dataset, workspace))


def load_pseudo_labels(pseudo_labels, dataset, workspace):
    """Resolve the ``pseudo_labels`` argument to ``(ids, masks)``.

    Parameters
    ----------
    pseudo_labels : None, "accepted", or dict of id to (101, 101) bool mask
        ``"accepted"`` reads the masks in force of unlabelled tiles from the curation store
        (their accepted and corrected pseudo-labels: `saltviewer.store.masks_in_force`).

    Returns
    -------
    ids : list of str
        Ids of tiles without ground truth, sorted; tiles that have ground truth are skipped.
    masks : (M, 101, 101) ndarray of bool
    """
    if pseudo_labels is None:
        return [], np.zeros((0, 101, 101), bool)
    if isinstance(pseudo_labels, str):
        if pseudo_labels != "accepted":
            raise SaltviewerError(f"pseudo_labels must be 'accepted', None or a dict of id to mask; got {pseudo_labels!r}.")
        try:
            from ..store import CurationStore, masks_in_force
        except ImportError:
            raise SaltviewerError("--pseudo-labels accepted: this installation has no curation store "
                                  "(saltviewer.store).") from None
        with CurationStore(workspace.store_path) as store:
            return masks_in_force(store, dataset).pseudo_label_arrays()
    if not isinstance(pseudo_labels, dict):
        raise SaltviewerError(f"pseudo_labels must be None, 'accepted' or a dict of id to mask; "
                              f"got {type(pseudo_labels).__name__}.")
    ids, masks = [], []
    for tile_id in sorted(pseudo_labels):
        index = dataset.index(tile_id)
        mask = np.asarray(pseudo_labels[tile_id])
        if mask.shape != (101, 101):
            raise SaltviewerError(f"pseudo-label of {tile_id!r} has shape {mask.shape}; expected (101, 101).")
        if dataset.has_mask[index]:
            continue
        ids.append(tile_id)
        masks.append(mask.astype(bool))
    return ids, (np.stack(masks) if masks else np.zeros((0, 101, 101), bool))


def load_label_corrections(pseudo_labels, dataset, workspace):
    """Training masks a person replaced in review, when training reads the curation store.

    With ``pseudo_labels="accepted"`` the masks in force of labelled tiles where a person
    replaced the training mask (accepted and corrected ``"label"`` items of the store:
    `saltviewer.store.masks_in_force`) take the place of the training masks they dispute;
    with anything else the training masks are used as they are.

    Returns
    -------
    corrections : dict of str to (101, 101) ndarray of bool
        Tile id to its mask in force, for labelled tiles of the dataset only.
    """
    if not (isinstance(pseudo_labels, str) and pseudo_labels == "accepted") or not Path(workspace.store_path).is_file():
        return {}
    from ..store import CurationStore, masks_in_force

    with CurationStore(workspace.store_path) as store:
        return masks_in_force(store, dataset).label_corrections()


def parent_folds(workspace, base_version, parent_card, ids, fold_of, folds):
    """Each labelled tile's fold in the parent version, where the parent has one.

    A fine-tuned fold k starts from the parent's fold-k model, which trained on every tile
    outside the parent's fold k; validating fold k on other tiles would score the model on
    tiles it learned. So tiles keep the parent's folds (from its ``oof.npz``); tiles the
    parent never saw keep `fold_of`.

    Returns
    -------
    fold_of : (N,) ndarray of int
    parent_oof : dict or None
        ``{"ids": list, "probabilities": (M, 101, 101) uint8}`` of the parent's out-of-fold
        maps, or None when the parent kept none or had another number of folds.
    """
    path = workspace.version_dir(base_version) / "oof.npz"
    if int(parent_card.get("folds") or 0) != int(folds) or not path.is_file():
        return fold_of, None
    with np.load(path) as oof:
        parent_ids = [str(i) for i in oof["ids"]]
        parent_fold = np.asarray(oof["folds"], int)
        probabilities = np.asarray(oof["probabilities"])
    where = {tile_id: k for k, tile_id in enumerate(parent_ids)}
    fold_of = np.array(fold_of, copy=True)
    for k, tile_id in enumerate(ids):
        if tile_id in where:
            fold_of[k] = parent_fold[where[tile_id]]
    return fold_of, {"ids": parent_ids, "probabilities": probabilities}


def parent_score(parent_oof, parent_card, ids, has_oof, masks, oof=None, binarise=None):
    """The parent's out-of-fold score on the tiles this version's out-of-fold score covers.

    Parameters
    ----------
    oof : (N, 101, 101) ndarray of float32, optional
        This version's out-of-fold probabilities (rows as `ids`), and `binarise` ``(threshold,
        min_area)``: then this version's score on the same tiles is given too (``version_score``),
        since its own out-of-fold score also covers tiles the parent never had (reviewed since).
    """
    from .. import competition_score
    from ..thresholds import apply_threshold

    where = {tile_id: k for k, tile_id in enumerate(parent_oof["ids"])}
    rows = [k for k in np.flatnonzero(has_oof) if ids[k] in where]
    if not rows:
        return None
    levels = parent_oof["probabilities"][[where[ids[k]] for k in rows]]
    probabilities = levels.astype(np.float32) / 255.0 if levels.dtype == np.uint8 else levels.astype(np.float32)
    predicted = apply_threshold(probabilities, parent_card.get("threshold") or 0.5, parent_card.get("min_area") or 0)
    score = {"score": float(competition_score(masks[rows], predicted)), "tiles": len(rows)}
    if oof is not None and binarise is not None:
        mine = apply_threshold(oof[rows], binarise[0], binarise[1])
        score["version_score"] = float(competition_score(masks[rows], mine))
    return score
