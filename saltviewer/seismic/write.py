"""Write values over a SEG-Y file's geometry: every header byte copied, the samples replaced."""

import numpy as np

from .._atomic import atomic_path
from .._errors import SaltviewerError

__all__ = ["write_segy_like", "stamp_text", "OUTPUT_FORMAT"]

#: Sample format of the files written: 4-byte IEEE float.
OUTPUT_FORMAT = 5


def _traces_of(values, data, start, stop):
    """File traces ``start:stop`` taken from `values` (shaped like `data`), in the file's trace order."""
    if data.kind == "line":
        return np.asarray(values[start:stop], np.float32)
    inline, crossline = data.places(start, stop)
    if data.sorting == "inline":             # the inlines these traces lie on, read whole
        first = int(inline.min())
        block = np.asarray(values[first:int(inline.max()) + 1], np.float32)
        return block[inline - first, crossline]
    first = int(crossline.min())
    block = np.asarray(values[:, first:int(crossline.max()) + 1], np.float32)
    return block[inline, crossline - first]


def stamp_text(head, lines):
    """The textual header of `head` (3200 bytes, EBCDIC or ASCII) with `lines` written into it.

    The lines go into the last blank card images before ``C40`` (or, when too few are
    blank, into ``C(40 - n)`` to ``C39``), each as ``Cnn text``; every other card stays as it
    was, in the header's own encoding.

    Parameters
    ----------
    head : bytes
        At least the 3200 bytes of the textual header.
    lines : sequence of str
        At most 39 lines of at most 76 characters (longer ones are cut).

    Returns
    -------
    text : bytes
        3200 bytes.
    """
    raw = bytes(head[:3200])
    ebcdic = raw[:1] == b"\xc3" or (raw[:1] != b"C" and sum(32 <= b < 127 for b in raw) < 1600)
    codec = "cp037" if ebcdic else "latin-1"
    cards = [raw[k * 80:(k + 1) * 80].decode(codec, "replace") for k in range(40)]
    lines = [str(line) for line in lines][:39]
    blank = [k for k in range(39) if not cards[k][4:].strip()]
    rows = blank[-len(lines):] if len(blank) >= len(lines) else list(range(39 - len(lines), 39))
    for row, line in zip(sorted(rows), lines):
        card = f"C{row + 1:2d} {line}"[:80]
        cards[row] = card.encode("ascii", "replace").decode("ascii").ljust(80)
    return "".join(cards).encode(codec, "replace")


def write_segy_like(data, path, values, chunk_bytes=64 << 20, progress=None, meaning=None):
    """Write a SEG-Y file with the geometry and headers of `data` and the samples of `values`.

    The textual header(s), the binary header and every trace header are copied byte for
    byte from `data`'s file; the samples are written as 4-byte IEEE floats in the file's
    byte order (the binary header's format code becomes 5 when it was another). With
    `meaning`, those lines say in the textual header what the samples now are (see
    `stamp_text`). Only the file's traces are written: places of a volume's grid without a
    trace stay without one. The file is written chunk by chunk (about `chunk_bytes` at a
    time) and appears under `path` only when complete.

    Parameters
    ----------
    data : SeismicData
        The file whose geometry and headers are copied.
    path : str or Path
    values : array-like of float, shaped like ``data.shape``
        A numpy array, memmap, zarr or dask array, read a few lines at a time.
    chunk_bytes : int
    progress : callable, optional
        ``progress(traces done, traces)``.
    meaning : sequence of str, optional
        Lines for the textual header: what the samples mean (``"SALT PROBABILITY 0..1"``).

    Returns
    -------
    path : Path
    """
    from pathlib import Path

    path = Path(path)
    if tuple(values.shape) != tuple(data.shape):
        raise SaltviewerError(f"{path}: values of shape {tuple(values.shape)} cannot go over {data.path.name}, "
                              f"whose samples are {tuple(data.shape)}.")
    if path.resolve() == data.path.resolve():
        raise SaltviewerError(f"{path}: is the input file; choose another output (inputs are never overwritten).")
    ns = data.n_samples
    with open(data.path, "rb") as source:
        head = bytearray(source.read(data.data_offset))
    head[3224:3226] = np.array([OUTPUT_FORMAT], data.endian + "u2").tobytes()
    if meaning:
        head[:3200] = stamp_text(head, meaning)
    out_dtype = np.dtype([("header", "V240"), ("samples", data.endian + "f4", (ns,))])
    per_chunk = max(1, chunk_bytes // max(data.trace_bytes, out_dtype.itemsize))
    if data.kind == "volume":      # whole lines per chunk, so a chunk is one slice of `values`
        line = data.shape[1] if data.sorting == "inline" else data.shape[0]
        per_chunk = max(line, per_chunk // line * line)
    expected = data.data_offset + data.n_traces * out_dtype.itemsize
    try:
        with atomic_path(path, suffix=".sgy") as tmp:
            with open(tmp, "wb") as out:
                out.write(head)
                for start in range(0, data.n_traces, per_chunk):
                    stop = min(start + per_chunk, data.n_traces)
                    block = np.empty(stop - start, out_dtype)
                    block["header"] = data.raw_traces(start, stop)["header"]
                    block["samples"] = _traces_of(values, data, start, stop)
                    out.write(block.tobytes())
                    if progress is not None:
                        progress(stop, data.n_traces)
            written = tmp.stat().st_size
            if written != expected:        # every trace, checked before the file takes its name
                raise SaltviewerError(f"{path}: {written} bytes were written where {data.n_traces} traces take "
                                      f"{expected}; nothing was kept.")
    except OSError as error:
        raise SaltviewerError(f"{path}: cannot be written ({error.strerror or error}).") from None
    return path
