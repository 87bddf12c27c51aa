"""Amplitudes to the 8-bit grey levels of the training tiles.

The TGS tiles are 8-bit images, each stretched to the full grey range (nearly every tile has
a 0 and a 255). Seismic amplitudes have any range and outliers, so they are mapped in one of
two documented ways:

``"file"`` (default)
    A robust clip fitted once per file: the `percentiles` (0.5 and 99.5 by default) of the
    amplitudes of up to `max_traces` traces spread evenly through the file give ``low`` and
    ``high``; a sample becomes ``round(255 * clip((a - low) / (high - low), 0, 1))``. The
    same amplitude gets the same grey everywhere, so overlapping tiles agree.
``"tile"``
    Each 101 x 101 tile stretched from its own minimum to its maximum, as the TGS tiles
    were made (quiet tiles are amplified as in the training data).

The fitted values are kept in the manifest of `segy tiles` and in the sidecar JSON of
`segy predict`, so a result says how its input was scaled.
"""

from dataclasses import asdict, dataclass

import numpy as np

from .._errors import SaltviewerError

__all__ = ["AmplitudeScaling", "fit_scaling", "SCALING_METHODS"]

SCALING_METHODS = ("file", "tile")


@dataclass(frozen=True)
class AmplitudeScaling:
    """How amplitudes become grey levels.

    Attributes
    ----------
    method : {"file", "tile"}
    low, high : float
        Amplitudes that map to 0 and 255 (``"file"``); for ``"tile"`` the file's robust
        range, kept for display.
    percentiles : (float, float)
    traces_used : int
        Traces the percentiles were computed on.
    """

    method: str
    low: float
    high: float
    percentiles: tuple = (0.5, 99.5)
    traces_used: int = 0

    def to_dict(self):
        return {**asdict(self), "percentiles": list(self.percentiles)}

    @classmethod
    def from_dict(cls, values):
        return cls(method=values["method"], low=float(values["low"]), high=float(values["high"]),
                   percentiles=tuple(values.get("percentiles", (0.5, 99.5))),
                   traces_used=int(values.get("traces_used", 0)))

    def to_uint8(self, tiles):
        """Grey levels of amplitude tiles.

        Parameters
        ----------
        tiles : (n, H, W) ndarray of float

        Returns
        -------
        grey : (n, H, W) ndarray of uint8
        """
        tiles = np.asarray(tiles, np.float32)
        if self.method == "file":
            low, high = np.float32(self.low), np.float32(self.high)
            scaled = (tiles - low) * (np.float32(255) / max(high - low, np.float32(1e-30)))
        else:
            flat = tiles.reshape(len(tiles), -1)
            low = flat.min(axis=1)[:, None, None]
            span = (flat.max(axis=1)[:, None, None] - low)
            scaled = (tiles - low) * (np.float32(255) / np.where(span > 0, span, np.float32(1)))
        np.clip(scaled, 0, 255, out=scaled)
        return np.rint(scaled).astype(np.uint8)


def fit_scaling(data, method="file", percentiles=(0.5, 99.5), max_traces=4096):
    """Fit the amplitude scaling of a SEG-Y line or volume.

    Parameters
    ----------
    data : SeismicData or ndarray
        The file (its traces are sampled evenly: at most `max_traces` are read), or the
        amplitudes themselves.
    method : {"file", "tile"}
    percentiles : (float, float)
        Lower and upper percentile of the clip, in [0, 100].
    max_traces : int

    Returns
    -------
    scaling : AmplitudeScaling

    Examples
    --------
    >>> s = fit_scaling(np.linspace(-1, 1, 201), percentiles=(0, 100))
    >>> s.to_uint8(np.array([[[-1.0, 0.0, 1.0]]])).tolist()
    [[[0, 128, 255]]]
    """
    if method not in SCALING_METHODS:
        raise SaltviewerError(f"--scaling must be one of {', '.join(SCALING_METHODS)}; got {method!r}.")
    low_p, high_p = (float(p) for p in percentiles)
    if not 0 <= low_p < high_p <= 100:
        raise SaltviewerError(f"--percentiles must be two numbers 0 <= low < high <= 100; got {percentiles!r}.")
    if isinstance(data, np.ndarray):
        values, used = data.reshape(-1), int(np.prod(data.shape[:-1])) if data.ndim > 1 else 1
    else:
        picks = np.unique(np.linspace(0, data.n_traces - 1, min(max_traces, data.n_traces)).round().astype(np.int64))
        runs = np.split(picks, np.flatnonzero(np.diff(picks) > 1) + 1)
        values = np.concatenate([data.traces(int(run[0]), int(run[-1]) + 1).reshape(-1) for run in runs])
        used = len(picks)
    values = values[np.isfinite(values)]
    if not values.size:
        raise SaltviewerError(f"{getattr(data, 'path', 'amplitudes')}: holds no finite amplitudes to scale.")
    low, high = (float(v) for v in np.percentile(values, [low_p, high_p]))
    if not high > low:
        low, high = float(values.min()), float(values.max())
    if not high > low:
        high = low + 1.0          # a constant file: everything maps to grey 0
    return AmplitudeScaling(method, low, high, (low_p, high_p), used)
