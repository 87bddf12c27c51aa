"""Which mask is in force for a tile: the one rule that training, the mosaics, SEG-Y assembly
and the docks read masks by.

A tile's mask in force is its *curated* mask where a person decided one (an accepted or
corrected item of the curation store: a pseudo-label on an unlabelled tile, or a label
correction on a labelled one), else its ground-truth mask, else none. A rejected or still
proposed item puts nothing in force (a labelled tile keeps its training mask). Each curated
mask also says whether a person saw the tile when deciding it (`MasksInForce.reviewed`):
reviewed unlabelled tiles train as labels, those accepted unseen as pseudo-labels.

Examples
--------
>>> with CurationStore(workspace.store_path) as store:                 # doctest: +SKIP
...     in_force = masks_in_force(store, dataset)
>>> in_force("0a1b2c3d4e")        # (101, 101) bool, or None           # doctest: +SKIP
>>> ids, masks = in_force.pseudo_label_arrays()                        # doctest: +SKIP
>>> reviewed_ids, _ = in_force.pseudo_label_arrays(reviewed=True)       # doctest: +SKIP
"""

import numpy as np

from ..rle import TILE_SHAPE

__all__ = ["MasksInForce", "masks_in_force"]


class MasksInForce:
    """The masks in force on a dataset's tiles, read from a curation store once.

    Call it with a tile id (or dataset position) for that tile's mask in force. The curated
    masks are held in memory (about 10 kB each); ground-truth masks are read from the
    dataset when asked for.

    Parameters
    ----------
    dataset : saltviewer.Dataset
    pseudo : dict of str to (101, 101) ndarray of bool
        Curated masks of ``"pseudo"`` items (unlabelled tiles), in dataset order.
    corrections : dict of str to (101, 101) ndarray of bool
        Curated masks of ``"label"`` items (training masks a person replaced), in dataset order.
    reviewed : set of str, optional
        The curated tiles a person decided while seeing them (`saltviewer.store.is_reviewed`);
        by default all of them.

    Attributes
    ----------
    curated : dict of str to (101, 101) ndarray of bool
        Every curated mask, both kinds, in dataset order.
    reviewed : frozenset of str
        Curated tiles decided while seen: on unlabelled tiles these train as labels.
    """

    def __init__(self, dataset, pseudo, corrections, reviewed=None):
        self.dataset = dataset
        self.pseudo = dict(pseudo)
        self.corrections = dict(corrections)
        self.curated = dict(sorted({**self.corrections, **self.pseudo}.items(), key=lambda kv: dataset.index(kv[0])))
        self.reviewed = frozenset(self.curated if reviewed is None else reviewed)

    def __repr__(self):
        reviewed = sum(1 for tile in self.pseudo if tile in self.reviewed)
        return (f"<MasksInForce: {len(self.pseudo)} pseudo-labels ({reviewed} reviewed), {len(self.corrections)} "
                f"label corrections, {int(np.count_nonzero(self.dataset.has_mask))} training masks>")

    def __call__(self, tile):
        """The mask in force of a tile: (101, 101) ndarray of bool, or None where it has none."""
        tile_id = tile if isinstance(tile, str) else self.dataset.ids[int(tile)]
        found = self.curated.get(tile_id)
        return found if found is not None else self.dataset.mask(tile_id)

    def source(self, tile):
        """Where a tile's mask in force comes from: ``"curated"``, ``"truth"`` or None (no mask)."""
        tile_id = tile if isinstance(tile, str) else self.dataset.ids[int(tile)]
        if tile_id in self.curated:
            return "curated"
        return "truth" if self.dataset.has_mask[self.dataset.index(tile_id)] else None

    def items(self):
        """Every tile with a mask in force, in dataset order.

        Yields
        ------
        tile : str
        mask : (101, 101) ndarray of bool
        source : {"curated", "truth"}
        """
        for index, tile_id in enumerate(self.dataset.ids):
            found = self.curated.get(tile_id)
            if found is not None:
                yield tile_id, found, "curated"
            elif self.dataset.has_mask[index]:
                yield tile_id, self.dataset.mask(index), "truth"

    def pseudo_label_arrays(self, reviewed=None):
        """The curated masks of unlabelled tiles as arrays, for training.

        Parameters
        ----------
        reviewed : bool, optional
            True: only the tiles a person decided while seeing them (they train as labels);
            False: only those accepted unseen (they train as pseudo-labels); None: all.

        Returns
        -------
        ids : list of str
            Sorted by tile id (the order training has always read them in; the card's
            fingerprint of the pseudo-labels depends on it).
        masks : (M, 101, 101) ndarray of bool
        """
        ids = sorted(tile_id for tile_id in self.pseudo if not self.dataset.has_mask[self.dataset.index(tile_id)]
                     and (reviewed is None or (tile_id in self.reviewed) == bool(reviewed)))
        masks = (np.stack([np.asarray(self.pseudo[tile_id], bool) for tile_id in ids]) if ids
                 else np.zeros((0,) + TILE_SHAPE, bool))
        return ids, masks

    def label_corrections(self):
        """The curated masks of labelled tiles: ``tile id -> (101, 101) bool`` in dataset order."""
        return {tile_id: np.asarray(mask, bool) for tile_id, mask in self.corrections.items()
                if self.dataset.has_mask[self.dataset.index(tile_id)]}


def masks_in_force(store, dataset):
    """The masks in force on a dataset's tiles: a curated mask, else the ground truth.

    Parameters
    ----------
    store : saltviewer.store.CurationStore
    dataset : saltviewer.Dataset

    Returns
    -------
    in_force : MasksInForce
        Callable: ``in_force(tile)`` is the tile's (101, 101) bool mask in force, or None
        where the tile has neither a curated nor a ground-truth mask.
    """
    curated = store.curated(dataset)
    return MasksInForce(dataset, {tile: c[0] for tile, c in curated.items() if c[1] == "pseudo"},
                        {tile: c[0] for tile, c in curated.items() if c[1] == "label"},
                        reviewed={tile for tile, c in curated.items() if c[4]})
