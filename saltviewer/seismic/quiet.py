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
bottom, dead traces and exactly flat runs count. `predict_section` sets the salt probability
to 0 in the quiet zones and weighs each tile in the blend by its share of signal, so a tile of
water or filler gives way to a tile of data where both cover a pixel.
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
    """

    level: float
    window: int = 9
    min_flat: int = 16
    fraction: float = 0.05

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

    def summary(self, image):
        """Share of a section that is quiet, by kind: ``{"quiet", "top", "bottom", "dead_traces", "flat"}``."""
        quiet = self.zones(image)
        dead = quiet.all(axis=0)
        top = np.argmin(quiet, axis=0)
        return {"quiet_share": round(float(quiet.mean()), 4), "dead_traces": int(dead.sum()),
                "median_top_samples": int(np.median(np.where(dead, 0, top))) if quiet.shape[1] else 0}


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


def fit_mute(scaling, fraction=0.05, window=9, min_flat=16):
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
    return Mute(level=float(fraction) * robust, window=int(window), min_flat=int(min_flat), fraction=float(fraction))
