"""Edge compatibility: how well two tiles continue each other across the edge they would share.

A seismic section is smooth along its layers and band-limited across them, so the line of
pixels just beyond a tile's edge is well predicted, linearly, from the few lines inside it.
`EdgeModel` learns that prediction from the tiles themselves: least squares over their
insides, each line from the `depth` lines before it at lateral offsets ``-reach..reach``
(which follows dipping layers), once for each kind of edge (``right``, ``below``) and each
direction (outwards past the last line, inwards past the first). For a tile `a` and a tile
`b` to its right (or below it)::

    cost(a, b)^2 = ( |P_out(a) - E_in(b)|^2 + |E_out(a) - P_in(b)|^2 ) / (2 L)

`E` are the two edge lines, `P` each tile's prediction of the other's edge line and `L` the
line length; lines and predictions are blurred a little along the edge (``smoothing``:
pixel noise is what most separates a true seam from its prediction, the shape of the
layers what separates a true neighbour from a look-alike). Every quantity is measured in
units of its own tile's edge line (its mean removed, divided by its standard deviation): the competition tiles were stretched to the
full grey range one by one, so two neighbours differ by a change of brightness and
contrast. The two terms make the cost symmetric, and together they are a squared Euclidean
distance between one feature vector per tile side (``[P_out, E_out]`` against
``[E_in, P_in]``), which a KD-tree can search.

``norm = cost / sqrt(inside)``, where `inside` is the mean squared error of predicting a
tile's own edge line from the lines inside it (the mean of the two tiles': each term of the
cost is one tile's prediction), is about 1 for a seam as smooth as the tiles' insides. An edge line with a standard deviation under
``min_contrast`` grey levels is flat (blank tiles, salt interiors, flat bands) and never
matches anything.

A seam across the layers (``below``) is judged on a second line each side as well
(``straddle``). Its edge lines run along the reflectors, so one line beyond carries little
that tells a true neighbour from a tile of another section whose edge happens to look
alike. The second line into each tile is predicted across the seam: the neighbour's
lines stand in for the ones the prediction would take from beyond the edge, ::

    S_b = B_1 - c_0 B_0 - sum_{j>=1} c_j A_{j-1}

(`c` the outward prediction, `A_j` and `B_j` the lines of `a` and `b` counted from the
seam, from 0; the same inwards for the second line of `a`). Each error splits into a part of one tile and a part of the
other, so the two go into the feature vectors with the weight ``straddle[kind]`` and the
cost stays a squared distance that the KD-tree searches. Costs are then averaged over
``2 L (1 + straddle**2)`` (`effective_length`), so that a seam as smooth as the insides
still has ``norm`` about 1. On the synthetic sample's true layout this keeps the true
below matches and cuts the look-alikes that pass a ratio test of 0.9 about three times.

``EdgeModel.extrapolating(w)`` is the fixed predictor ``E + w (E - E2)`` from the last two
lines (``w = 1``: linear extrapolation), the compatibility used before the learned one.
"""

import numpy as np

from .._errors import SaltviewerError

__all__ = ["KINDS", "EdgeModel", "content_order", "border_features", "pair_costs", "edge_contrast", "edge_texture", "band_contrast",
           "check_images", "check_kind"]

KINDS = ("right", "below")
SIDES = ("out", "in")
DEPTH = 6               # lines a prediction looks back on
REACH = 2               # lateral offsets either side
RIDGE = 1e-3            # ridge penalty, relative to the number of samples
MAX_TILES = 768         # tiles the fit looks at (chosen by content: content_order)
TARGETS = 6             # lines of each tile the fit predicts (evenly spaced)
MIN_CONTRAST = 4.0
SMOOTHING = 1.0         # pixels: the Gaussian blur along the edge lines before they are compared
TEXTURE_LINES = 8       # lines of the band whose texture `edge_texture` measures
CONTRAST_LINES = 24     # lines of the band whose spread of grey levels `band_contrast` measures
_SELF_FLOOR = 0.01      # (edge standard deviations)^2: a floor under the inside cost of very smooth edges
_EXTRAPOLATION = 0.5    # the fallback when no line is textured enough to fit on
STRADDLE = {"right": 0.0, "below": 0.5}   # weight of the second line each side (see the module notes)


def check_images(images):
    """The tiles as an (n, H, W) array of real numbers, or a `SaltviewerError` saying what is wrong."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise SaltviewerError(f"images: expected a stack of tiles (n, height, width), got shape {images.shape}.")
    if images.shape[1] < 3 or images.shape[2] < 3:
        raise SaltviewerError(f"images: tiles must be at least 3x3 pixels to extrapolate their borders, "
                              f"got {images.shape[1]}x{images.shape[2]}.")
    if not np.issubdtype(images.dtype, np.number) or np.issubdtype(images.dtype, np.complexfloating):
        raise SaltviewerError(f"images: expected real numbers (uint8 grey levels), got dtype {images.dtype}.")
    return images


def check_kind(kind):
    if kind not in KINDS:
        raise SaltviewerError(f"kind must be 'right' or 'below', got {kind!r}.")


def _lines(images, kind, side, count, dtype=np.float32):
    """The `count` lines of every tile nearest one border, outermost first: (n, count, L) of
    `dtype` (float32 unless asked otherwise).

    ``side`` ``"out"`` is the border facing the neighbour that `kind` names (the last
    columns for ``right``, the last rows for ``below``); ``"in"`` the opposite one.
    """
    if kind == "right":
        block = images[:, :, ::-1][:, :, :count] if side == "out" else images[:, :, :count]
        return np.ascontiguousarray(np.swapaxes(block, 1, 2), dtype=dtype)
    block = images[:, ::-1][:, :count] if side == "out" else images[:, :count]
    return np.ascontiguousarray(block, dtype=dtype)


def _line_stats(line):
    """Mean and standard deviation of each line ((n, 1, 1) float32, a zero deviation taken as 1)
    and the deviation itself ((n,) float)."""
    mean = line.mean(axis=1, dtype=np.float64)
    deviation = line.std(axis=1, dtype=np.float64)
    scale = np.where(deviation > 0, deviation, 1.0)
    return mean.astype(np.float32)[:, None], scale.astype(np.float32)[:, None], deviation


def _texture(band):
    """Log roughness along and across a band of lines (n, k, L): see `edge_texture`."""
    count, lines, length = band.shape
    flat = band.reshape(count, lines * length)
    centred = flat - flat.mean(axis=1, keepdims=True)
    scale = np.sqrt(np.einsum("ij,ij->i", centred, centred) / (lines * length)) + 1e-3
    del centred
    rough = []
    for axis, size in ((2, length), (1, lines)):
        if size < 2:
            rough.append(np.ones(count, np.float32))
            continue
        step = np.diff(band, axis=axis)
        np.abs(step, out=step)
        rough.append(step.reshape(count, step.shape[1] * step.shape[2]).mean(axis=1) / scale)
    return np.log(np.stack(rough, axis=1).astype(np.float64) + 1e-6)


def _standardise(block, line=0):
    """A block of lines in units of one of its lines (mean removed, over its standard deviation)."""
    reference = block[:, line].astype(np.float64)
    mean = reference.mean(axis=1)[:, None, None].astype(np.float32)
    scale = reference.std(axis=1)[:, None, None].astype(np.float32)
    scale[scale == 0] = 1
    return (block - mean) / scale


def _design(block, reach):
    """Every pixel's predictors: (n * L, depth * (2 reach + 1)) float32, lines then offsets."""
    from numpy.lib.stride_tricks import sliding_window_view

    padded = np.pad(block, ((0, 0), (0, 0), (reach, reach)), mode="edge")
    windows = sliding_window_view(padded, 2 * reach + 1, axis=2)           # (n, depth, L, width)
    return np.ascontiguousarray(windows.transpose(0, 2, 1, 3)).reshape(-1, block.shape[1] * (2 * reach + 1))


def _predict(block, coefficients):
    """Each tile's prediction of the line beyond a block of lines (outermost first).

    block : (n, depth, L); coefficients : (depth, 2 * reach + 1). Returns (n, L): the sum
    over lines k and offsets d of ``coefficients[k, d] * line_k[i + d - reach]``, edge
    values repeated past the ends.
    """
    from scipy.ndimage import correlate1d

    depth = coefficients.shape[0]
    out = np.zeros((block.shape[0], block.shape[2]), np.float32)
    for k in range(depth):
        out += correlate1d(block[:, k], coefficients[k].astype(np.float32), axis=-1, mode="nearest")
    return out


def content_order(images):
    """Positions of the tiles sorted by a checksum of their pixels (CRC-32, then the pixel sum).

    A sample taken from the front of this order depends on what the tiles hold, not on their
    names or their order in the dataset: identical tiles tie, and are interchangeable.
    Evenly spaced positions would pick other tiles when tiles are renamed or added, and the
    fit, and with it the mosaics, would follow the names.
    """
    import zlib

    images = np.ascontiguousarray(images)
    checksums = np.fromiter((zlib.crc32(tile) for tile in images), dtype=np.int64, count=len(images))
    sums = np.zeros(len(images), dtype=np.int64)
    _, inverse, counts = np.unique(checksums, return_inverse=True, return_counts=True)
    tied = counts[inverse] > 1                        # identical tiles, or (rarely) a shared checksum
    if tied.any():
        sums[tied] = images[tied].reshape(int(tied.sum()), -1).sum(axis=1, dtype=np.int64)
    return np.lexsort((sums, checksums))


class EdgeModel:
    """The linear prediction of a tile's next line that scores edges (see the module notes).

    Parameters
    ----------
    depth : int
        Lines a prediction looks back on.
    reach : int
        Lateral offsets either side (0: each pixel from the pixels straight behind it).
    ridge : float
        Ridge penalty of the least-squares fit, relative to the number of samples.
    max_tiles : int
        The fit looks at at most this many tiles, evenly spaced.
    min_contrast : float
        Lines with a smaller standard deviation (grey levels) are left out of the fit.
    smoothing : float
        Standard deviation, in pixels, of a Gaussian blur along the edge lines and
        predictions before they are compared (0: none). Pixel noise is what differs
        most between a true seam and its prediction; the shapes of the layers are what
        tell a true neighbour from a look-alike, so a light blur sharpens the contrast.
    straddle : float or dict
        Weight of the second line each side of a seam, predicted across it (see the
        module notes); a dict gives one per kind (default: 0 for ``right``, 0.5 for
        ``below``).

    Attributes
    ----------
    coef_ : dict
        ``(kind, side) -> (depth, 2 * reach + 1) ndarray``: weights of the lines (outermost
        first) and offsets (``-reach..reach``) in the prediction of the line beyond `side`.
    residual_ : dict
        ``(kind, side) -> float``: mean squared error of the fit, in units of the nearest line.
    """

    def __init__(self, depth=DEPTH, reach=REACH, ridge=RIDGE, max_tiles=MAX_TILES, min_contrast=MIN_CONTRAST,
                 smoothing=SMOOTHING, straddle=None):
        if not (isinstance(depth, (int, np.integer)) and depth >= 1):
            raise SaltviewerError(f"depth must be a positive integer (lines), got {depth!r}.")
        if not (isinstance(reach, (int, np.integer)) and reach >= 0):
            raise SaltviewerError(f"reach must be an integer >= 0 (pixels), got {reach!r}.")
        self.depth, self.reach, self.ridge = int(depth), int(reach), float(ridge)
        if not (isinstance(smoothing, (int, float)) and smoothing >= 0):
            raise SaltviewerError(f"smoothing must be a number >= 0 (pixels), got {smoothing!r}.")
        self.max_tiles, self.min_contrast, self.smoothing = int(max_tiles), float(min_contrast), float(smoothing)
        self.straddle = _check_straddle(STRADDLE if straddle is None else straddle)

    @classmethod
    def extrapolating(cls, weight=_EXTRAPOLATION, smoothing=0.0):
        """The fixed predictor ``E + weight (E - E2)`` from each tile's last two lines."""
        model = cls(depth=2, reach=0, smoothing=smoothing, straddle=0.0)
        coefficients = np.array([[1 + weight], [-weight]])
        model.coef_ = {(kind, side): coefficients for kind in KINDS for side in SIDES}
        model.residual_ = {key: float("nan") for key in model.coef_}
        return model

    def __repr__(self):
        fitted = "fitted" if hasattr(self, "coef_") else "not fitted"
        return (f"<EdgeModel depth={self.depth} reach={self.reach} smoothing={self.smoothing:g} "
                f"straddle={self.straddle['below']:g} ({fitted})>")

    def get_params(self):
        return {"depth": self.depth, "reach": self.reach, "ridge": self.ridge, "max_tiles": self.max_tiles,
                "smoothing": self.smoothing, "straddle": dict(self.straddle)}

    def effective_length(self, kind, line_length):
        """What the squared distance of a pair is averaged over to make its cost:
        ``2 L (1 + straddle[kind]**2)``."""
        return 2 * line_length * (1 + self.straddle[kind] ** 2)

    def _blur(self, lines):
        if not self.smoothing:
            return lines
        from scipy.ndimage import gaussian_filter1d

        return gaussian_filter1d(lines, self.smoothing, axis=-1, mode="nearest", truncate=3.0)

    def fit(self, images):
        """Learn the predictions from the insides of the tiles.

        Parameters
        ----------
        images : (n, H, W) ndarray
            The tiles; the fit looks at `max_tiles` of them chosen by their content alone
            (`content_order`), so the same tiles under other names or in another order give
            the same model.

        Returns
        -------
        self : EdgeModel
        """
        images = check_images(images)
        subset = images[content_order(images)[:self.max_tiles]]
        self.coef_, self.residual_ = {}, {}
        for kind in KINDS:
            length = subset.shape[1] if kind == "below" else subset.shape[2]
            depth = min(self.depth, length - 1)
            for side in SIDES:
                # Predicting past the first line works on the tiles read from the other end.
                lines = _lines(subset, kind, "out" if side == "in" else "in", length)
                self.coef_[kind, side], self.residual_[kind, side] = self._fit_lines(lines, depth)
        return self

    def _fit_lines(self, lines, depth):
        """Least squares of line ``t`` on lines ``t-1 .. t-depth`` (lines: (n, L, W), read forwards)."""
        width = 2 * self.reach + 1
        size = depth * width
        gram, moment, energy, count = np.zeros((size, size)), np.zeros(size), 0.0, 0
        stride = max(1, (lines.shape[1] - depth) // TARGETS)
        for t in range(depth, lines.shape[1], stride):
            block = np.concatenate([lines[:, t - depth:t][:, ::-1], lines[:, t:t + 1]], axis=1)
            floor = max(self.min_contrast, 1e-6)
            textured = (block[:, 0].std(axis=1) >= floor) & (block[:, depth].std(axis=1) >= floor)
            block = block[textured]
            if not len(block):
                continue
            block = _standardise(block)                 # in units of the nearest line behind
            x = _design(block[:, :depth], self.reach)
            y = block[:, depth].reshape(-1)
            gram += (x.T @ x).astype(np.float64)
            moment += (x.T @ y).astype(np.float64)
            energy += float(np.dot(y.astype(np.float64), y))
            count += len(y)
        if not count:
            fallback = np.zeros((depth, width))
            fallback[0, self.reach] = 1 + _EXTRAPOLATION
            if depth > 1:
                fallback[1, self.reach] = -_EXTRAPOLATION
            return fallback, float("nan")
        coefficients = np.linalg.solve(gram + self.ridge * count * np.eye(size), moment)
        residual = (energy - 2 * coefficients @ moment + coefficients @ gram @ coefficients) / count
        return coefficients.reshape(depth, width), float(residual)

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise SaltviewerError("EdgeModel: call fit(images) first (or use EdgeModel.extrapolating()).")

    def describe(self, images, kind, side):
        """Everything the search needs of one side of every tile, from one read of its lines.

        Returns
        -------
        edge, predicted : (n, L) ndarray of float32
            The edge line and the prediction of the line beyond it, in units of the edge
            line, blurred (``smoothing``).
        inside : (n,) ndarray of float
            `inside_cost`.
        contrast : (n,) ndarray of float
            `edge_contrast`.
        texture : (n, 3) ndarray of float
            `edge_texture` (roughness along and across), then `band_contrast`.
        """
        self._check_fitted()
        check_kind(kind)
        images = check_images(images)
        coefficients = self.coef_[kind, side]
        depth = coefficients.shape[0]
        size = images.shape[2 if kind == "right" else 1]
        block = _lines(images, kind, side, min(size, max(depth + 1, TEXTURE_LINES)))
        total = np.float32(coefficients.sum())
        mean_edge, scale_edge, contrast = _line_stats(block[:, 0])
        # The line beyond the edge, predicted from the lines behind it; the prediction is
        # linear, so measuring the block in units of the edge line may come after it.
        edge = (block[:, 0] - mean_edge) / scale_edge
        predicted = (_predict(block[:, :depth], coefficients) - mean_edge * total) / scale_edge
        if block.shape[1] > depth:
            # The edge line predicted from inside as a neighbour's would be: the lines inside in
            # units of the nearest of them, the edge line in its own.
            mean_inner, scale_inner, _ = _line_stats(block[:, 1])
            inner = (_predict(block[:, 1:depth + 1], coefficients) - mean_inner * total) / scale_inner
            error = self._blur(inner - edge)
            inside = np.maximum(np.mean(error.astype(np.float64) ** 2, axis=1), _SELF_FLOOR)
        else:
            inside = np.full(len(block), _SELF_FLOOR)
        texture = np.column_stack([_texture(block[:, :TEXTURE_LINES]), band_contrast(images, kind, side)])
        return self._blur(edge), self._blur(predicted), inside, contrast, texture

    def _straddle_lines(self, images, kind, side):
        """The two parts of one side in the second-line errors across a seam: (n, 2 L) float32,
        weighted, blurred; (n, 0) when the kind's weight is 0.

        For the side facing the neighbour (``out``): ``[F, G]`` with ``F = sum_{j>=1} c_j A_{j-1}``
        (its lines in the outward prediction of the neighbour's second line) and
        ``G = A_1 - d_0 A_0`` (its own second line less the part of the inward prediction
        that its edge line makes). The opposite side (``in``) gives ``[G, F]`` with the
        predictions swapped, so that ``out - into`` holds the two errors.
        """
        weight = self.straddle[kind]
        if not weight:
            return np.zeros((len(images), 0), np.float32)
        across = self.coef_[kind, side]                          # predicts past this side's edge
        inward = self.coef_[kind, "in" if side == "out" else "out"]
        depth = min(across.shape[0], inward.shape[0])
        size = images.shape[2 if kind == "right" else 1]
        block = _lines(images, kind, side, min(size, depth))
        mean, scale, _ = _line_stats(block[:, 0])
        block = (block - mean[:, :, None]) / scale[:, :, None]
        if depth < 2:
            return np.zeros((len(images), 0), np.float32)
        feeds = _predict(block[:, :depth - 1], across[1:depth])
        own = block[:, 1] - _predict(block[:, :1], inward[:1])
        parts = [feeds, own] if side == "out" else [own, feeds]
        return weight * np.concatenate([self._blur(part) for part in parts], axis=1)

    def side_features(self, images, kind, side):
        """The feature vector of one side of every tile and what the search needs besides.

        Returns
        -------
        features : (n, 2 L) or (n, 4 L) ndarray of float32
            ``[P_out, E_out]`` (side ``out``) or ``[E_in, P_in]`` (side ``in``), followed by
            the straddle lines when the kind's weight is not 0.
        inside, contrast : (n,) ndarray of float
        texture : (n, 3) ndarray of float
            `edge_texture`, then `band_contrast`.
        """
        edge, predicted, inside, contrast, texture = self.describe(images, kind, side)
        first = [predicted, edge] if side == "out" else [edge, predicted]
        features = np.concatenate(first + [self._straddle_lines(images, kind, side)], axis=1)
        return features, inside, contrast, texture

    def features(self, images, kind):
        """Feature vectors whose squared distances are the pair costs squared times
        `effective_length`.

        Returns
        -------
        out : (n, D) ndarray of float32
            ``[P_out, E_out]`` of the side facing the neighbour (and its straddle lines).
        into : (n, D) ndarray of float32
            ``[E_in, P_in]`` of the opposite side (and its straddle lines).
        """
        return self.side_features(images, kind, "out")[0], self.side_features(images, kind, "in")[0]

    def inside_cost(self, images, kind, side):
        """Mean squared error of predicting each tile's edge line from the lines inside it.

        The lines inside are in units of the nearest of them and the edge line in its own, as
        the two sides of a seam are; floored at 0.01: (n,) ndarray of float.
        """
        return self.describe(images, kind, side)[2]

    def pair_costs(self, images, a, b, kind):
        """Exact costs of given pairs: the reference every search agrees with.

        Parameters
        ----------
        images : (n, H, W) ndarray
        a, b : (m,) array of int
            Tile ``b[i]`` is placed right of (or below) tile ``a[i]``.
        kind : {"right", "below"}

        Returns
        -------
        cost : (m,) ndarray of float
            Root mean squared mismatch of the two predictions, in edge-line units.
        norm : (m,) ndarray of float
            `cost` over the root of the mean inside cost of the two edges (what a seam
            between two true neighbours is expected to cost).
        """
        check_kind(kind)
        images = check_images(images)
        a = np.atleast_1d(np.asarray(a, dtype=np.int64))
        b = np.atleast_1d(np.asarray(b, dtype=np.int64))
        out, _ = self.features(images[a], kind)
        _, into = self.features(images[b], kind)
        line = images.shape[1 if kind == "right" else 2]
        squared = np.sum((out.astype(np.float64) - into) ** 2, axis=1) / self.effective_length(kind, line)
        inside = (self.inside_cost(images[a], kind, "out") + self.inside_cost(images[b], kind, "in")) / 2
        return np.sqrt(squared), np.sqrt(squared / inside)


def _check_straddle(straddle):
    """``{kind: weight}`` from a number or a dict, or a `SaltviewerError` saying what is wrong."""
    weights = dict.fromkeys(KINDS, straddle) if not isinstance(straddle, dict) else dict(straddle)
    if set(weights) != set(KINDS) or not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0
                                             for w in weights.values()):
        raise SaltviewerError(f"straddle must be a number >= 0 or a dict of one for 'right' and 'below', "
                              f"got {straddle!r}.")
    return {kind: float(weights[kind]) for kind in KINDS}


def _model(images, model):
    return EdgeModel().fit(images) if model is None else model


def border_features(images, kind, model=None):
    """`EdgeModel.features` of a model (default: one fitted on `images`)."""
    return _model(images, model).features(images, kind)


def pair_costs(images, a, b, kind, model=None):
    """`EdgeModel.pair_costs` of a model (default: one fitted on `images`; pass the model the
    search used when `images` is not the whole set)."""
    return _model(images, model).pair_costs(images, a, b, kind)


def edge_contrast(images, kind, side):
    """Standard deviation of each tile's edge line, in grey levels: (n,) ndarray of float."""
    check_kind(kind)
    images = check_images(images)
    return _lines(images, kind, side, 1)[:, 0].std(axis=1)


def band_contrast(images, kind, side, lines=CONTRAST_LINES, chunk=2048):
    """The spread of grey levels in the band of lines along one border, as a log.

    ``log`` of the standard deviation (grey levels, plus 1e-3) of the `lines` lines nearest
    the border. Tiles of one section keep their contrast across a seam, even where each tile
    was stretched to the full grey range on its own (the competition tiles: two neighbours'
    spreads then differ by the ratio of their stretches, within a factor 2 for nine in ten
    true seams); a look-alike edge between a bright, layered tile and a dull one does not.

    Returns
    -------
    contrast : (n,) ndarray of float
    """
    check_kind(kind)
    images = check_images(images)
    count = min(lines, images.shape[2 if kind == "right" else 1])
    size = count * images.shape[1 if kind == "right" else 2]
    spread = np.empty(len(images))
    for start in range(0, len(images), chunk):                   # integer copies of one chunk at a time
        pixels = _lines(images[start:start + chunk], kind, side, count, dtype=np.int32).reshape(-1, size)
        # The variance from exact integer sums: one pass, no float copy (2.5 times faster than std).
        total = pixels.sum(axis=1, dtype=np.int64)
        squares = np.einsum("ij,ij->i", pixels, pixels, dtype=np.int64)
        spread[start:start + chunk] = np.sqrt((size * squares - total * total) / float(size) ** 2)
    return np.log(spread + 1e-3)


def edge_texture(images, kind, side, lines=TEXTURE_LINES):
    """The texture of the band of lines along one border: how rough it is along and across.

    Two tiles that continue each other share their texture near the seam; a look-alike edge
    line between a striped and a smooth tile does not. Both measures are the mean absolute
    difference between neighbouring pixels, along the lines and across them, over the
    band's standard deviation (so a tile's brightness and contrast do not count), as logs.

    Returns
    -------
    texture : (n, 2) ndarray of float
        ``log`` roughness along the border and across it.
    """
    check_kind(kind)
    images = check_images(images)
    return _texture(_lines(images, kind, side, min(lines, images.shape[2 if kind == "right" else 1])))

