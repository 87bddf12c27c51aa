"""What a training run learns from besides the training masks: pseudo-labels and corrections from
the curation store, and the parent version's folds and scores when fine-tuning."""

import hashlib
from pathlib import Path

import numpy as np

from .._errors import SaltviewerError

__all__ = ["load_pseudo_labels", "load_label_corrections", "parent_folds", "parent_score", "mask_hash"]


def mask_hash(ids, masks):
    """A short fingerprint of masks and their tile ids (kept in the card)."""
    digest = hashlib.sha1()
    for tile_id, mask in zip(ids, masks):
        digest.update(tile_id.encode())
        digest.update(np.packbits(mask).tobytes())
    return digest.hexdigest()[:16]


def load_training_labels(pseudo_labels, dataset, workspace):
    """Pseudo-labels and label corrections for a training run, from one read of the store.

    With ``pseudo_labels="accepted"`` both come from the same `masks_in_force` snapshot of
    the curation store, so a decision made while training starts is in both or in neither.

    Returns
    -------
    ids, masks, corrections
        As `load_pseudo_labels` and `load_label_corrections` return them.
    """
    if isinstance(pseudo_labels, str) and pseudo_labels == "accepted" and Path(workspace.store_path).is_file():
        from ..store import CurationStore, masks_in_force

        with CurationStore(workspace.store_path) as store:
            in_force = masks_in_force(store, dataset)
        ids, masks = in_force.pseudo_label_arrays()
        return ids, masks, in_force.label_corrections()
    return (*load_pseudo_labels(pseudo_labels, dataset, workspace),
            load_label_corrections(pseudo_labels, dataset, workspace))


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


def parent_score(parent_oof, parent_card, ids, has_oof, masks):
    """The parent's out-of-fold score on the tiles this version's out-of-fold score covers."""
    from .. import competition_score
    from ..thresholds import apply_threshold

    where = {tile_id: k for k, tile_id in enumerate(parent_oof["ids"])}
    rows = [k for k in np.flatnonzero(has_oof) if ids[k] in where]
    if not rows:
        return None
    levels = parent_oof["probabilities"][[where[ids[k]] for k in rows]]
    probabilities = levels.astype(np.float32) / 255.0 if levels.dtype == np.uint8 else levels.astype(np.float32)
    predicted = apply_threshold(probabilities, parent_card.get("threshold") or 0.5, parent_card.get("min_area") or 0)
    return {"score": float(competition_score(masks[rows], predicted)), "tiles": len(rows)}
