"""The tiles a training run learns from, in one place: labels (the dataset's and the reviewed tiles),
pseudo-labels, their weights and their folds.

Rows of a `TrainingSet` come in three runs:

1. the dataset's labelled tiles (their training masks, or a person's correction of one);
2. reviewed tiles: unlabelled tiles a person decided while seeing them. They are labels:
   full weight, in a fold's training and validation tiles;
3. pseudo-labels: tiles accepted unseen; they only train, weigh ``recipe.pseudo_weight``
   and take at most ``recipe.pseudo_fraction`` of an epoch.

Folds are stable from version to version: a fine-tune keeps its parent's fold for every tile
the parent had (from the parent's ``oof.npz``); the dataset's other labelled tiles get the
stratified folds of the run's seed, and a reviewed tile the parent did not have gets
`stable_fold` of its id, which does not depend on what else is new.
"""

from dataclasses import dataclass

import numpy as np

from .labels import parent_folds, stable_fold

__all__ = ["TrainingSet", "build_training_set"]


@dataclass
class TrainingSet:
    """Inputs, masks, weights and folds of a training run.

    Attributes
    ----------
    x : (N, H, W, C) ndarray
        Model inputs (`saltviewer.training.fit.prepare_inputs`).
    y : (N, 101, 101) ndarray of bool
    weight : (N,) ndarray of float32
        1 for labels, the recipe's ``pseudo_weight`` for pseudo-labels.
    fold_of : (N,) ndarray of int
        Validation fold of each row; -1: trains in every fold (pseudo-labels, and with one
        fold the tiles outside the held-out fifth).
    ids : list of str
    n_given : int
        Rows ``[0, n_given)`` are the dataset's labelled tiles.
    n_labelled : int
        Rows ``[n_given, n_labelled)`` are reviewed tiles; rows from ``n_labelled`` on are
        pseudo-labels.
    new : (N,) ndarray of bool
        Labels the parent did not train on (drawn ``recipe.new_label_repeat`` times per pass).
    parent_oof : dict or None
        The parent's out-of-fold maps (`parent_folds`).
    """

    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    fold_of: np.ndarray
    ids: list
    n_given: int
    n_labelled: int
    new: np.ndarray
    parent_oof: dict = None

    @property
    def labels(self):
        """Row numbers of the labels (the dataset's and the reviewed tiles)."""
        return np.arange(self.n_labelled)

    @property
    def reviewed_ids(self):
        return self.ids[self.n_given:self.n_labelled]

    @property
    def pseudo_ids(self):
        return self.ids[self.n_labelled:]

    def fold_rows(self, k):
        """Rows that train fold `k`: its labels (new ones repeated `repeat` times is the caller's),
        its pseudo-labels, and the rows that validate it.

        Returns
        -------
        labelled, pseudo, validation : ndarray of int
        """
        train = np.flatnonzero(self.fold_of != k)
        return train[train < self.n_labelled], train[train >= self.n_labelled], np.flatnonzero(self.fold_of == k)

    def repeated(self, rows, repeat):
        """`rows` with each new label among them `repeat` times (the labels of one pass)."""
        if repeat <= 1:
            return rows
        extra = rows[self.new[rows]]
        return np.concatenate([rows] + [extra] * (int(repeat) - 1))


def build_training_set(dataset, labelled, masks, labels, recipe, inputs, *, parent=None):
    """Assemble the rows of a run (see the module's notes).

    Parameters
    ----------
    dataset : Dataset
    labelled : (L,) ndarray of int
        Dataset rows of the labelled tiles.
    masks : (L, 101, 101) ndarray of bool
        Their masks (corrections applied).
    labels : TrainingLabels
    recipe : TrainingRecipe
        Resolved (folds, seed, pseudo_weight).
    inputs : callable
        ``inputs(rows)`` -> model inputs of dataset rows.
    parent : tuple, optional
        ``(workspace, version, card)`` of the parent when fine-tuning.

    Returns
    -------
    data : TrainingSet
    """
    from .folds import stratified_folds

    folds, seed = int(recipe.folds), int(recipe.seed)
    given_ids = [dataset.ids[i] for i in labelled]
    reviewed_ids = list(labels.reviewed_ids)
    pseudo_ids = list(labels.pseudo_ids)
    fold_given = stratified_folds(masks, folds, seed)
    fold_reviewed = np.array([stable_fold(tile, folds) for tile in reviewed_ids], int)
    ids = given_ids + reviewed_ids
    fold_of = np.concatenate([fold_given, fold_reviewed])
    parent_oof = None
    new = np.zeros(len(ids), bool)
    if parent is not None:
        workspace, version, card = parent
        fold_of, parent_oof = parent_folds(workspace, version, card, ids, fold_of, folds)
        had = set((card.get("reviewed_labels") or {}).get("tiles") or {})
        if parent_oof is not None:
            had |= set(parent_oof["ids"])
        new[len(given_ids):] = [tile not in had for tile in reviewed_ids]
    parts = [inputs(labelled)]
    for extra in (reviewed_ids, pseudo_ids):
        if extra:
            parts.append(inputs(np.array([dataset.index(tile) for tile in extra])))
    x = np.concatenate(parts) if len(parts) > 1 else parts[0]
    y = np.concatenate([masks, np.asarray(labels.reviewed_masks, bool).reshape(-1, 101, 101),
                        np.asarray(labels.pseudo_masks, bool).reshape(-1, 101, 101)])
    n_labelled = len(ids)
    weight = np.ones(len(y), np.float32)
    weight[n_labelled:] = float(recipe.pseudo_weight)
    return TrainingSet(x=x, y=y, weight=weight, fold_of=np.concatenate([fold_of, np.full(len(pseudo_ids), -1)]),
                       ids=ids + pseudo_ids, n_given=len(given_ids), n_labelled=n_labelled,
                       new=np.concatenate([new, np.zeros(len(pseudo_ids), bool)]), parent_oof=parent_oof)
