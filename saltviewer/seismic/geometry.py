"""A SEG-Y file's geometry from every trace's inline and crossline numbers.

- one of them constant (or no grid in the headers at all): a 2-D line, in file order;
- both changing along a path (fewer than two traces per value of the longer of the two, as a
  straight, slanted or crooked 2-D line has): a 2-D line too, in file order, since a line is a
  sequence of traces whatever its numbers;
- both changing over an area: a 3-D volume on the grid of the inline x crossline numbers,
  sorted ascending, with a trace map (the trace at each place, -1 where the survey has none);
  the map is left out (None) for a full grid stored in inline or crossline order.
"""

import numpy as np

from .._errors import SaltviewerError

__all__ = ["survey_geometry"]


def _line_numbers(il, xl, cdp):
    """A line's trace numbers: CDP when they are distinct, else crossline, else inline, else 1..n."""
    n = len(il)
    for numbers in (cdp, xl, il):
        if len(np.unique(numbers)) == n:
            return numbers
    return np.arange(1, n + 1, dtype=np.int64)


def survey_geometry(path, il, xl, offsets, cdp, iline=189, xline=193):
    """Kind, axes and trace map of a SEG-Y file from every trace's header numbers.

    Parameters
    ----------
    path : Path
        The file, for messages.
    il, xl, offsets, cdp : (n,) ndarray of int
        Each trace's inline, crossline, offset and CDP number, in file order.
    iline, xline : int
        Header bytes of the inline and crossline numbers, for messages.

    Returns
    -------
    geometry : dict
        ``kind``, ``sorting``, ``inlines``, ``crosslines``, ``trace_map`` (see `SeismicData`)
        and ``shape_traces``.

    Raises
    ------
    SaltviewerError
        Two traces of a volume share a place (naming them), or they differ only by offset
        (pre-stack gathers).
    """
    n = len(il)
    inlines, il_index = np.unique(il, return_inverse=True)
    crosslines, xl_index = np.unique(xl, return_inverse=True)
    line = {"kind": "line", "sorting": "line", "inlines": np.zeros(0, np.int64),
            "crosslines": _line_numbers(il, xl, cdp), "trace_map": None, "shape_traces": (n,)}
    if len(inlines) < 2 or len(crosslines) < 2:
        return line
    flat = il_index.reshape(-1) * len(crosslines) + xl_index.reshape(-1)
    places, first, counts = np.unique(flat, return_index=True, return_counts=True)
    if n < 2 * max(len(inlines), len(crosslines)):     # a path, not an area: a 2-D line
        return line
    if len(places) < n:
        twice = int(places[np.argmax(counts > 1)])
        t0 = int(first[np.argmax(counts > 1)])
        t1 = int(np.flatnonzero(flat == twice)[1])
        if len(np.unique(offsets)) > 1:
            raise SaltviewerError(f"{path}: holds {len(np.unique(offsets))} offsets (trace header bytes 37-40) at "
                                  "shared places (pre-stack gathers); saltviewer reads stacked lines and volumes "
                                  "(one offset).")
        raise SaltviewerError(
            f"{path}: traces {t0} and {t1} share a place, inline {il[t0]} and crossline {xl[t0]} (trace header "
            f"bytes {iline} and {xline}); a volume holds each place once ({n} traces at {len(places)} places).")
    trace_map = np.full((len(inlines), len(crosslines)), -1, np.int64)
    trace_map.reshape(-1)[flat] = np.arange(n)
    grid = np.arange(n, dtype=np.int64)
    sorting = "inline"
    if len(places) == trace_map.size:
        if np.array_equal(trace_map.reshape(-1), grid):
            trace_map = None
        elif np.array_equal(trace_map.T.reshape(-1), grid):
            trace_map, sorting = None, "crossline"
    if trace_map is not None:        # slowest number: the one that changes least often along the file
        sorting = "inline" if np.count_nonzero(np.diff(il)) <= np.count_nonzero(np.diff(xl)) else "crossline"
    return {"kind": "volume", "sorting": sorting, "inlines": inlines.astype(np.int64),
            "crosslines": crosslines.astype(np.int64), "trace_map": trace_map,
            "shape_traces": (len(inlines), len(crosslines))}
