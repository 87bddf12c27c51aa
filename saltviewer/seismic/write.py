"""Write values over a SEG-Y file's geometry: every header byte copied, the samples replaced."""

import numpy as np

from .._atomic import atomic_path
from .._errors import SaltviewerError

__all__ = ["write_segy_like", "OUTPUT_FORMAT"]

#: Sample format of the files written: 4-byte IEEE float.
OUTPUT_FORMAT = 5


def _traces_of(values, data, start, stop):
    """Rows ``start:stop`` of `values` (shaped like `data`) in the file's trace order."""
    if data.kind == "line":
        return np.asarray(values[start:stop], np.float32)
    n_il, n_xl = data.shape[:2]
    if data.sorting == "inline":
        first, last = start // n_xl, -(-stop // n_xl)
        block = np.asarray(values[first:last], np.float32).reshape(-1, data.n_samples)
        return block[start - first * n_xl:stop - first * n_xl]
    first, last = start // n_il, -(-stop // n_il)
    block = np.asarray(values[:, first:last], np.float32).transpose(1, 0, 2).reshape(-1, data.n_samples)
    return block[start - first * n_il:stop - first * n_il]


def write_segy_like(data, path, values, chunk_bytes=64 << 20, progress=None):
    """Write a SEG-Y file with the geometry and headers of `data` and the samples of `values`.

    The textual header(s), the binary header and every trace header are copied byte for
    byte from `data`'s file; the samples are written as 4-byte IEEE floats in the file's
    byte order (the binary header's format code becomes 5 when it was another). The file is
    written chunk by chunk (about `chunk_bytes` at a time) and appears under `path` only
    when complete.

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
