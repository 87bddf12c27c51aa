"""Quiet zones: where a section holds no signal, so no salt can be seen there.

A model trained on the TGS tiles calls anything quiet or flat salt (salt bodies are the
quietest parts of those tiles). Marine data starts with a water column, data is muted above
its first arrivals (and sometimes below), dead traces hold zeros, and padding or filler is one
constant value: none of it can be salt. `Mute` finds these zones from the amplitudes alone:

- a sample has signal where the largest ``|amplitude|`` within ``window`` samples around it
  exceeds ``level`` (a fraction of the file's robust amplitude, see `fit_mute`), and it is not
  inside a run of at least ``min_flat`` identical values;
- the quiet zones of a trace are the samples above its first signal (water column, top mute)
  and below its last (bottom mute), the whole trace when it has none (a dead trace), and every
  flat run.

Quiet runs inside the data (a salt body's dim interior) are left alone: only the top, the
bottom, dead traces and exactly flat runs count. A model that sees a flat or quiet part calls it
salt and spills that call onto the data beside it, so `predict_section` shows the model each
tile with its own data mirrored into its quiet parts (`Mute.fill`), sets the salt probability to
0 in the quiet zones, and weighs each tile in the blend by a steep power of its share of signal,
so a tile of water or filler gives way to a tile of data where both cover a pixel.
"""

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Mute", "fit_mute"]


@dataclass(frozen=True)
class Mute:
    """How quiet zones are found (see the module notes).

    Attributes
    ----------
    level : float
        Amplitude at or below which a sample is quiet.
    window : int
        Samples over which the largest amplitude is taken.
    min_flat : int
        Identical consecutive values that make a flat (no data) run.
    fraction : float
        ``level`` as a fraction of the robust amplitude it was fitted from.
    weight_power : float
        A tile's blending weight is multiplied by ``signal_share ** weight_power`` (its share
        of samples outside quiet zones): a tile half of water or filler weighs 1/256 of a
        tile of data at 8, so the cleanest tile covering a pixel decides it.
    """

    level: float
    window: int = 9
    min_flat: int = 16
    fraction: float = 0.05
    weight_power: float = 8.0

    def tile_weight(self, quiet_share):
        """Blending factor of a tile with this share of quiet samples (at least 1e-6)."""
        return max((1.0 - float(quiet_share)) ** self.weight_power, 1e-6)

    def to_dict(self):
        return asdict(self)

    def zones(self, image):
        """Quiet zones of a section image.

        Parameters
        ----------
        image : (samples, traces) ndarray of float
            Depth down, as tiles are cut.

        Returns
        -------
        quiet : (samples, traces) ndarray of bool
        """
        from scipy import ndimage

        image = np.asarray(image, np.float32)
        height = image.shape[0]
        flat = _flat_runs(image, self.min_flat)
        loud = ndimage.maximum_filter1d(np.abs(image), size=max(1, int(self.window)), axis=0) > self.level
        signal = loud & ~flat
        has = signal.any(axis=0)
        first = np.where(has, np.argmax(signal, axis=0), height)
        last = np.where(has, height - 1 - np.argmax(signal[::-1], axis=0), -1)
        rows = np.arange(height)[:, None]
        return (rows < first) | (rows > last) | flat

    def fill(self, tiles, quiet):
        """Tiles with their quiet samples replaced by their own data, mirrored: what the model sees.

        A model that sees water, a mute or filler calls it salt and spills that call onto the
        data beside it; given the data mirrored into those places instead, it judges the data
        alone (the prediction there is 0 anyway). Within each tile: a quiet run of a trace takes
        the trace's samples mirrored about the run's edges (its upper half from above, its lower
        half from below); a trace quiet throughout takes the nearest traces with data, mirrored
        about the boundary. A tile quiet throughout is left as it is.

        Parameters
        ----------
        tiles : (n, h, w) ndarray of float
        quiet : (n, h, w) ndarray of bool

        Returns
        -------
        filled : (n, h, w) ndarray of float32
        """
        filled = np.array(tiles, np.float32, copy=True)
        for k in np.flatnonzero(quiet.reshape(len(quiet), -1).any(axis=1)):
            filled[k] = _mirror_fill(filled[k], quiet[k])
        return filled

    def summary(self, image):
        """Share of a section that is quiet, by kind: ``{"quiet", "top", "bottom", "dead_traces", "flat"}``."""
        quiet = self.zones(image)
        dead = quiet.all(axis=0)
        top = np.argmin(quiet, axis=0)
        return {"quiet_share": round(float(quiet.mean()), 4), "dead_traces": int(dead.sum()),
                "median_top_samples": int(np.median(np.where(dead, 0, top))) if quiet.shape[1] else 0}


def _mirror_positions(keep):
    """For each position of a 1-D axis, a kept position: itself, or, in a quiet run, the kept run
    beside it mirrored back and forth (the run's upper half from the run before it, its lower
    half from the run after it; one side only at the ends of the axis)."""
    n = len(keep)
    source = np.arange(n)
    if keep.all() or not keep.any():
        return source
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    runs = list(zip(edges[::2], edges[1::2]))                       # kept runs [start, stop)
    gaps = np.flatnonzero(np.diff(np.concatenate([[1], keep.astype(np.int8), [1]])))
    for a, b in zip(gaps[::2], gaps[1::2]):                          # quiet run a .. b - 1
        above = next((r for r in reversed(runs) if r[1] == a), None)
        below = next((r for r in runs if r[0] == b), None)
        i = np.arange(a, b)
        from_above = np.full(len(i), above is not None)
        if above is not None and below is not None:
            from_above = i - a < b - i
        if above is not None:
            start, stop = above
            length = stop - start
            m = (i - a) % (2 * length)
            mirrored = np.where(m < length, stop - 1 - m, start + m - length)
            source[a:b] = np.where(from_above, mirrored, source[a:b])
        if below is not None:
            start, stop = below
            length = stop - start
            m = (b - 1 - i) % (2 * length)
            mirrored = np.where(m < length, start + m, stop - 1 - (m - length))
            source[a:b] = np.where(from_above, source[a:b], mirrored)
    return source


def _mirror_fill(tile, quiet):
    """One tile's quiet samples from its data, mirrored (see `Mute.fill`)."""
    out = tile.copy()
    dead = quiet.all(axis=0)
    if dead.all():
        return out
    for j in np.flatnonzero(quiet.any(axis=0) & ~dead):
        out[:, j] = tile[_mirror_positions(~quiet[:, j]), j]
    if dead.any():
        out = out[:, _mirror_positions(~dead)]
    return out


def _flat_runs(image, min_run):
    """Samples inside runs of at least `min_run` identical values along axis 0."""
    height = image.shape[0]
    if min_run <= 1 or height < min_run:
        return np.zeros(image.shape, bool)
    k = min_run - 1                                  # a run of k + 1 identical values: k "same as above" in a row
    same = np.zeros((height + 1,) + image.shape[1:], np.int32)
    same[2:] = image[1:] == image[:-1]
    total = np.cumsum(same, axis=0)                  # total[t + 1] = "same as above" among samples 1 .. t
    starts = np.zeros((height + 1,) + image.shape[1:], np.int32)
    starts[1:height - k + 1] = (total[k + 1:height + 1] - total[1:height - k + 1]) == k    # run from t to t + k
    covered = np.cumsum(starts, axis=0)
    shifted = np.zeros_like(covered)
    shifted[k + 1:] = covered[:-(k + 1)]
    return (covered - shifted)[1:] > 0


def fit_mute(scaling, fraction=0.05, window=9, min_flat=16, weight_power=8.0):
    """A `Mute` whose level is `fraction` of the file's robust amplitude.

    Parameters
    ----------
    scaling : AmplitudeScaling
        Its ``low`` and ``high`` (the 0.5 and 99.5 percentiles, see `fit_scaling`) give the
        robust amplitude ``max(|low|, |high|)``.
    fraction : float
        0.05 by default: water-column noise and mute tapers sit well below it, the first
        reflections of the sea floor or of muted data well above.

    Returns
    -------
    mute : Mute
    """
    robust = max(abs(float(scaling.low)), abs(float(scaling.high)))
    return Mute(level=float(fraction) * robust, window=int(window), min_flat=int(min_flat), fraction=float(fraction),
                weight_power=float(weight_power))
