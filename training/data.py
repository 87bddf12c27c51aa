"""Batches of tiles for Keras: a `keras.utils.PyDataset` with augmentation.

Batches are float32 ``(batch, 101, 101, channels)``: channel 0 is the image / 255, the
others extra feature channels (see `saltviewer.features`). Targets are float32
``(batch, 101, 101, 1)`` 0/1 masks.
"""

import threading

import numpy as np
from scipy import ndimage

from .._errors import SaltviewerError

__all__ = ["TileBatches", "augment", "as_inputs", "as_float"]


def as_inputs(images, features=None):
    """Model inputs from uint8 tiles (and optional extra channels).

    Parameters
    ----------
    images : (N, 101, 101) ndarray of uint8
    features : (N, 101, 101, C) ndarray of float32, optional

    Returns
    -------
    x : (N, 101, 101, 1 + C) ndarray
        uint8 tiles ``(N, 101, 101, 1)`` when there are no extra channels (4x less memory
        for large pools; `as_float` scales them per batch), else float32 with the image
        channel scaled to [0, 1].
    """
    images = np.asarray(images, np.uint8)[..., None]
    if features is None or not features.shape[-1]:
        return images
    return np.concatenate([images.astype(np.float32) / 255.0, np.asarray(features, np.float32)], axis=-1)


def as_float(batch):
    """A batch of inputs as float32: uint8 tiles are divided by 255, float inputs kept."""
    batch = np.asarray(batch)
    if batch.dtype == np.uint8:
        return batch.astype(np.float32) / 255.0
    return batch.astype(np.float32, copy=False)


def augment(x, y, rng, flip=0.5, affine=0.5, max_shift=8.0, scale=(0.9, 1.15), intensity=0.5,
            brightness=0.08, contrast=(0.85, 1.15)):
    """Augment one tile and its mask in place of copies.

    Parameters
    ----------
    x : (H, W, C) ndarray of float32
        Channel 0 is the image in [0, 1]; brightness and contrast change only it. A context
        window (`saltviewer.mosaic.context_windows`) may be wider than `y` by the same margin
        on every side; flips and moves keep the two aligned.
    y : (h, w, 1) ndarray of float32 or None
    rng : numpy.random.Generator
    flip : float
        Probability of a horizontal flip (salt bodies have no left/right preference;
        a vertical flip would turn the geology upside down, so none).
    affine : float
        Probability of a random zoom (`scale`) and shift (up to `max_shift` pixels),
        with mirrored borders; the mask uses nearest-neighbour sampling.
    intensity : float
        Probability of a brightness (+/- `brightness`) and contrast (x `contrast`) change.

    Returns
    -------
    x, y : augmented copies
    """
    x = x.copy()
    y = None if y is None else y.copy()
    wider = None if y is None else (x.shape[0] - y.shape[0], x.shape[1] - y.shape[1])
    if wider is not None and (wider[0] != wider[1] or wider[0] < 0 or wider[0] % 2):
        raise SaltviewerError(f"augment: an input of {x.shape[:2]} is no window centred on a mask of {y.shape[:2]}.")
    if rng.random() < flip:
        x = x[:, ::-1].copy()
        y = None if y is None else y[:, ::-1].copy()
    if rng.random() < affine:
        s = rng.uniform(*scale)
        shift = rng.uniform(-max_shift, max_shift, size=2)
        centre = (np.array(x.shape[:2]) - 1) / 2.0
        offset = centre - centre / s + shift
        matrix = np.array([1.0 / s, 1.0 / s])
        margin = 0 if y is None else wider[0] // 2
        if margin:
            # A context window is wider than its tile's mask by the same margin on each side. The
            # mask is known on the tile only, so where the move brings pixels from outside the tile
            # into it, those pixels come from the tile mirrored out (as for a tile without context)
            # and the mask is mirrored the same way; the margin keeps the moved neighbours.
            inner = (slice(margin, -margin), slice(margin, -margin))
            tile_region = np.zeros(x.shape[:2], np.float32)
            tile_region[inner] = 1.0
            # (linear sampling: a pixel that blends in any of the margin counts as from outside)
            from_tile = ndimage.affine_transform(tile_region, matrix, offset, order=1, mode="constant") > 0.999
            take_mirror = ~from_tile
            take_mirror[:margin], take_mirror[-margin:], take_mirror[:, :margin], take_mirror[:, -margin:] = (
                False, False, False, False)
            for c in range(x.shape[-1]):
                moved = ndimage.affine_transform(x[..., c], matrix, offset, order=1, mode="reflect")
                if take_mirror.any():
                    mirrored = np.pad(x[..., c][inner], margin, mode="reflect")
                    moved[take_mirror] = ndimage.affine_transform(mirrored, matrix, offset, order=1,
                                                                  mode="reflect")[take_mirror]
                x[..., c] = moved
            full = np.pad(y[..., 0], margin, mode="reflect")
            y[..., 0] = ndimage.affine_transform(full, matrix, offset, order=0, mode="reflect")[inner]
        else:
            for c in range(x.shape[-1]):
                x[..., c] = ndimage.affine_transform(x[..., c], matrix, offset, order=1, mode="reflect")
            if y is not None:
                y[..., 0] = ndimage.affine_transform(y[..., 0], matrix, offset, order=0, mode="reflect")
    if rng.random() < intensity:
        image = x[..., 0]
        mean = image.mean()
        image = (image - mean) * rng.uniform(*contrast) + mean + rng.uniform(-brightness, brightness)
        x[..., 0] = np.clip(image, 0.0, 1.0)
    return x, y


def _pydataset_base():
    import keras

    return keras.utils.PyDataset


class TileBatches(_pydataset_base()):
    """Shuffled, augmented batches of tiles and masks.

    Parameters
    ----------
    x : (N, 101, 101, C) ndarray of uint8 or float32
        Inputs, as made by `as_inputs`.
    y : (N, 101, 101) ndarray of bool, optional
        Masks; without them batches are inputs only (for prediction).
    batch_size : int
    shuffle : bool
        Reshuffle at every epoch.
    augment : bool or dict
        Apply `augment` (a dict passes its keyword arguments).
    seed : int
    indices : (M,) ndarray of int, optional
        Use only these rows of `x`, `y` (the labelled tiles).
    pseudo_indices : (P,) ndarray of int, optional
        Rows holding pseudo-labels, drawn apart from the others.
    epoch_tiles, from_pseudo : int, optional
        Tiles per epoch and how many of them come from `pseudo_indices` (see
        `saltviewer.recipe.TrainingRecipe.epoch_size`); by default every row once.
        Each kind is drawn without replacement, going on through a reshuffled pass
        where the previous one ended, so every tile is seen as often as the others. A row
        given twice in `indices` is drawn twice per pass.
    weights : (N,) ndarray of float, optional
        A weight per row of `x` for its loss (pseudo-labels weigh less than labels); batches
        are then ``(x, y, weights)``.
    """

    def __init__(self, x, y=None, batch_size=32, shuffle=True, augment=True, seed=0, indices=None,
                 pseudo_indices=None, epoch_tiles=None, from_pseudo=None, weights=None, **kwargs):
        super().__init__(**kwargs)
        if weights is not None and (y is None or len(weights) != len(x)):
            raise SaltviewerError(f"weights: one per row of x ({len(x)}) with masks; got {len(weights)}.")
        self.weights = None if weights is None else np.asarray(weights, np.float32)
        if batch_size < 1:
            raise SaltviewerError(f"batch_size must be at least 1; got {batch_size}.")
        self.x = x
        self.y = y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.augment_options = augment if isinstance(augment, dict) else ({} if augment else None)
        self.rng = np.random.default_rng(seed)
        self.indices = np.arange(len(x)) if indices is None else np.asarray(indices, dtype=int)
        self.pseudo_indices = np.zeros(0, int) if pseudo_indices is None else np.asarray(pseudo_indices, dtype=int)
        if len(self.indices) == 0 and len(self.pseudo_indices) == 0:
            raise SaltviewerError("no tiles to train on.")
        if epoch_tiles is None:
            epoch_tiles, from_pseudo = len(self.indices) + len(self.pseudo_indices), len(self.pseudo_indices)
        if from_pseudo is None:
            from_pseudo = 0
        if not 0 <= int(from_pseudo) <= int(epoch_tiles) or int(epoch_tiles) < 1:
            raise SaltviewerError(f"epoch_tiles {epoch_tiles} and from_pseudo {from_pseudo}: need "
                                  "0 <= from_pseudo <= epoch_tiles and epoch_tiles >= 1.")
        if (int(from_pseudo) and not len(self.pseudo_indices)) or (int(epoch_tiles) > int(from_pseudo)
                                                                    and not len(self.indices)):
            raise SaltviewerError("no tiles to draw the epoch from.")
        self.epoch_tiles, self.from_pseudo = int(epoch_tiles), int(from_pseudo)
        # the epoch's order has a generator of its own: Keras may call on_epoch_end while its
        # prefetching thread is still augmenting with `rng`
        self._order_rng = np.random.default_rng([seed, 1])
        self._lock = threading.Lock()
        self._labelled_stream = _Stream(self.indices, self._order_rng, shuffle)
        self._pseudo_stream = _Stream(self.pseudo_indices, self._order_rng, shuffle)
        self.order = self._draw()

    def _draw(self):
        """This epoch's rows: `epoch_tiles` of them, `from_pseudo` from the pseudo-labels."""
        rows = np.concatenate([self._labelled_stream.take(self.epoch_tiles - self.from_pseudo),
                               self._pseudo_stream.take(self.from_pseudo)])
        return self._order_rng.permutation(rows) if self.shuffle else rows

    def __len__(self):
        return int(np.ceil(self.epoch_tiles / self.batch_size))

    def __getitem__(self, index):
        with self._lock:           # Keras may call on_epoch_end while its prefetching thread is here
            return self._batch(index)

    def _batch(self, index):
        rows = np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])
        x = as_float(self.x[rows])
        y = None if self.y is None else np.asarray(self.y[rows], np.float32)[..., None]
        if self.augment_options is not None:
            for k in range(len(rows)):
                x[k], yk = augment(x[k], None if y is None else y[k], self.rng, **self.augment_options)
                if y is not None:
                    y[k] = yk
        if y is None:
            return (x,)
        return (x, y) if self.weights is None else (x, y, self.weights[rows])

    def on_epoch_end(self):
        if self.shuffle or self.epoch_tiles != len(self.indices) + len(self.pseudo_indices):
            with self._lock:
                self.order = self._draw()


class _Stream:
    """Rows drawn without replacement, pass after (reshuffled) pass; no row twice in one take
    unless the take is longer than the rows."""

    def __init__(self, rows, rng, shuffle):
        self.rows, self.rng, self.shuffle = np.asarray(rows, int), rng, shuffle
        self.pending = np.zeros(0, int)

    def take(self, n):
        out = []
        while n > 0 and len(self.rows):
            if not len(self.pending):
                fresh = self.rng.permutation(self.rows) if self.shuffle else self.rows.copy()
                if out:            # a new pass starts mid-epoch: rows this epoch already has go last
                    taken = np.isin(fresh, np.concatenate(out))
                    fresh = np.concatenate([fresh[~taken], fresh[taken]])
                self.pending = fresh
            part, self.pending = self.pending[:n], self.pending[n:]
            out.append(part)
            n -= len(part)
        return np.concatenate(out) if out else np.zeros(0, int)
