"""Open SEG-Y lines and volumes: headers and geometry through segyio, samples read in blocks.

segyio checks the file (formats, byte order, extended textual headers, the SEG-Y rev 2
extended sample count); the geometry comes from every trace's inline and crossline numbers:

- one of them constant (or no grid in the headers at all): a 2-D line, in file order;
- both changing, along a path (fewer than two traces per value of the longer of the two, as a
  straight, slanted or crooked 2-D line has): a 2-D line too, in file order, since a line is a
  sequence of traces whatever its numbers;
- both changing over an area: a 3-D volume on the grid of the inline x crossline numbers,
  sorted ascending. A survey that does not fill its grid (a non-rectangular outline, holes) is
  read with its missing traces as zeros and marked (`SeismicData.present`); the output of a
  prediction holds only the input's traces, so nothing is invented there.

The samples are then read straight from the file in blocks of whole traces (one positional
read per run of consecutive traces, the 240-byte trace headers skipped with a structured
dtype), so a volume larger than memory is read a block at a time and nothing stays mapped in
the process. `SeismicData.read` gives any box of a volume; `SeismicData.array` is the same as
an array-like that `dask.array.from_array` takes.

Arrays keep the file's order: a line is ``(traces, samples)``, a volume ``(inlines,
crosslines, samples)``. A section shown as an image (and cut into tiles) is the transpose,
``(samples, traces)``: depth down, as in the TGS tiles.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._errors import SaltviewerError
from .geometry import survey_geometry

__all__ = ["open_segy", "SeismicData", "VolumeArray", "ibm_to_float32", "SAMPLE_FORMATS"]

#: Sample formats read (binary-header code: numpy type of the big-endian file, name).
SAMPLE_FORMATS = {
    1: ("u4", "4-byte IBM float"), 2: ("i4", "4-byte signed integer"), 3: ("i2", "2-byte signed integer"),
    5: ("f4", "4-byte IEEE float"), 6: ("f8", "8-byte IEEE float"), 8: ("i1", "1-byte signed integer"),
    9: ("i8", "8-byte signed integer"), 10: ("u4", "4-byte unsigned integer"),
    11: ("u2", "2-byte unsigned integer"), 12: ("u8", "8-byte unsigned integer"), 16: ("u1", "1-byte unsigned integer"),
}
_UNSUPPORTED = {4: "4-byte fixed point with gain", 7: "3-byte signed integer", 15: "3-byte unsigned integer"}
_TEXT, _BINARY, _TRACE_HEADER = 3200, 400, 240


def ibm_to_float32(words):
    """IBM System/360 single-precision floats (as unsigned 32-bit words) to IEEE float32.

    Parameters
    ----------
    words : ndarray of uint32
        The raw words, already in the machine's byte order.

    Returns
    -------
    values : ndarray of float32, same shape

    Examples
    --------
    >>> ibm_to_float32(np.array([0x41100000, 0xC276A000, 0], np.uint32))
    array([   1. , -118.625,    0. ], dtype=float32)
    """
    words = np.asarray(words, np.uint32)
    fraction = (words & np.uint32(0x00FFFFFF)).astype(np.float64) / float(1 << 24)
    exponent = ((words >> np.uint32(24)) & np.uint32(0x7F)).astype(np.int32) - 64
    values = fraction * np.power(16.0, exponent)
    values[(words >> np.uint32(31)).astype(bool)] *= -1
    return values.astype(np.float32)


@dataclass
class SeismicData:
    """A SEG-Y line or volume: its geometry and a reader of its samples.

    Attributes
    ----------
    path : Path
    kind : {"line", "volume"}
    shape : tuple of int
        ``(traces, samples)`` for a line, ``(inlines, crosslines, samples)`` for a volume.
    samples : (ns,) ndarray of float
        Time (ms) or depth of each sample, from the binary and first trace header.
    inlines, crosslines : ndarray of int
        A volume's inline and crossline numbers in file order; a line's trace numbers (CDP,
        else crossline, else 1..n) are in `crosslines` and `inlines` is empty.
    sorting : {"inline", "crossline", "line"}
        Which number runs slowest in the file.
    sample_domain : {"time", "depth"}
        What the sample axis measures: depth when the textual header speaks of depth and not
        of time, else time (SEG-Y headers hold no field for it).
    sample_unit : str
        ``"ms"`` for time (segyio's sample axis); for depth the binary header's measurement
        system (bytes 3255-3256: 1 metres, 2 feet), metres when it is not set.
    trace_map : (inlines, crosslines) ndarray of int64, optional
        A volume's trace (file position) at each place of its grid, -1 where the survey has
        none; None for a full grid stored in order (trace ``i * crosslines + x`` for an
        inline-sorted file, ``x * inlines + i`` for a crossline-sorted one).
    format : int
        The binary header's sample format code (see `SAMPLE_FORMATS`).
    endian : {">", "<"}
    n_traces : int
    data_offset : int
        Byte offset of the first trace header.
    trace_bytes : int
        Bytes per trace, header included.
    """

    path: Path
    kind: str
    shape: tuple
    samples: np.ndarray
    inlines: np.ndarray
    crosslines: np.ndarray
    sorting: str
    format: int
    endian: str
    n_traces: int
    data_offset: int
    trace_bytes: int
    text: str = ""
    sample_domain: str = "time"
    sample_unit: str = "ms"
    trace_map: np.ndarray = field(default=None, repr=False, compare=False)
    _fd: int = field(default=None, repr=False, compare=False)
    _places: np.ndarray = field(default=None, repr=False, compare=False)

    def __repr__(self):
        shape = " x ".join(str(n) for n in self.shape)
        return f"<SeismicData {self.kind} {self.path.name}: {shape} ({SAMPLE_FORMATS[self.format][1]})>"

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_fd"] = None           # a file descriptor does not travel to another process
        return state

    @property
    def n_samples(self):
        return int(self.shape[-1])

    @property
    def sample_dtype(self):
        return np.dtype(self.endian + SAMPLE_FORMATS[self.format][0])

    @property
    def trace_dtype(self):
        """The structured dtype of one trace in the file: header bytes, then samples."""
        return np.dtype([("header", f"V{_TRACE_HEADER}"), ("samples", self.sample_dtype, (self.n_samples,))])

    @property
    def nbytes(self):
        """Bytes of the samples as float32."""
        return int(np.prod(self.shape)) * 4

    @property
    def present(self):
        """A volume's places that hold a trace: ``(inlines, crosslines)`` bool, or None when all do."""
        return None if self.trace_map is None else self.trace_map >= 0

    @property
    def n_missing(self):
        """Places of a volume's grid with no trace in the file (read as zeros)."""
        return 0 if self.trace_map is None else int((self.trace_map < 0).sum())

    def section_shape(self, direction="inline"):
        """``(samples, traces)`` of a section as an image: the line, or a volume's inline
        (``direction="inline"``: across its crosslines) or crossline section."""
        if self.kind == "line":
            return self.n_samples, self.shape[0]
        if direction not in ("inline", "crossline"):
            raise SaltviewerError(f"--direction must be inline or crossline; got {direction!r}.")
        return self.n_samples, self.shape[1] if direction == "inline" else self.shape[0]

    def places(self, start, stop):
        """Grid places ``(inline positions, crossline positions)`` of file traces ``start:stop`` of a volume."""
        traces = np.arange(start, stop, dtype=np.int64)
        n_il, n_xl = self.shape[:2]
        if self.trace_map is None:
            if self.sorting == "inline":
                return traces // n_xl, traces % n_xl
            return traces % n_il, traces // n_il
        if self._places is None:
            flat = np.full(self.n_traces, -1, np.int64)
            where = np.flatnonzero(self.trace_map.reshape(-1) >= 0)
            flat[self.trace_map.reshape(-1)[where]] = where
            self._places = flat
        flat = self._places[start:stop]
        return flat // n_xl, flat % n_xl

    # ----------------------------------------------------------------- reading
    def _file(self):
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return self._fd

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        try:
            self.close()
        except Exception:   # noqa: BLE001 - interpreter shutdown
            pass

    def raw_traces(self, start, stop):
        """Consecutive traces as stored, headers and samples: ``(stop - start,)`` of `trace_dtype`."""
        n = max(0, stop - start)
        buffer = np.empty(n * self.trace_bytes, np.uint8)
        offset = self.data_offset + start * self.trace_bytes
        done = 0
        while done < buffer.nbytes:
            got = os.preadv(self._file(), [memoryview(buffer)[done:]], offset + done)
            if not got:
                raise SaltviewerError(f"{self.path}: ends inside trace {start + done // self.trace_bytes}; "
                                      "the file is truncated.")
            done += got
        return buffer.view(self.trace_dtype)

    def traces(self, start=0, stop=None):
        """Samples of consecutive traces (file order) as float32: ``(stop - start, samples)``."""
        stop = self.n_traces if stop is None else stop
        raw = self.raw_traces(start, stop)["samples"]
        if self.format == 1:
            return ibm_to_float32(raw.astype(np.uint32))
        return raw.astype(np.float32)

    def trace_index(self, inline, crossline):
        """File position of the trace at (inline position, crossline position) of a volume (-1: none)."""
        if self.trace_map is not None:
            return int(self.trace_map[inline, crossline])
        n_il, n_xl = self.shape[:2]
        return inline * n_xl + crossline if self.sorting == "inline" else crossline * n_il + inline

    def read(self, inlines=slice(None), crosslines=slice(None)):
        """A box of a volume (or a run of a line's traces) as float32.

        Parameters
        ----------
        inlines, crosslines : slice
            Positions (not header numbers) along the first two axes; a line has only
            `inlines` (its traces).

        Returns
        -------
        values : (i, x, samples) ndarray of float32, or (t, samples) for a line
            Places of the grid without a trace read as 0.
        """
        if self.kind == "line":
            start, stop, _ = inlines.indices(self.shape[0])
            return self.traces(start, max(start, stop))
        i0, i1, _ = inlines.indices(self.shape[0])
        x0, x1, _ = crosslines.indices(self.shape[1])
        i1, x1 = max(i0, i1), max(x0, x1)
        if self.trace_map is not None:
            return self._gather(self.trace_map[i0:i1, x0:x1])
        out = np.empty((i1 - i0, x1 - x0, self.n_samples), np.float32)
        if self.sorting == "inline":
            for k, il in enumerate(range(i0, i1)):
                start = self.trace_index(il, x0)
                out[k] = self.traces(start, start + x1 - x0)
        else:
            for k, xl in enumerate(range(x0, x1)):
                start = self.trace_index(i0, xl)
                out[:, k] = self.traces(start, start + i1 - i0)
        return out

    def _gather(self, indices):
        """Traces at file positions `indices` (any shape; -1 gives zeros), one read per run of neighbours."""
        flat = indices.reshape(-1)
        out = np.zeros((flat.size, self.n_samples), np.float32)
        wanted = np.flatnonzero(flat >= 0)
        if len(wanted):
            order = wanted[np.argsort(flat[wanted], kind="stable")]
            positions = flat[order]
            breaks = np.flatnonzero(np.diff(positions) > 1) + 1
            for run_order, run in zip(np.split(order, breaks), np.split(positions, breaks)):
                values = self.traces(int(run[0]), int(run[-1]) + 1)
                out[run_order] = values[run - run[0]]
        return out.reshape(indices.shape + (self.n_samples,))

    @property
    def array(self):
        """The samples as a lazily read array-like (for `dask.array.from_array`)."""
        return VolumeArray(self)

    def to_dask(self, chunks=None):
        """A dask array of the samples, read block by block when computed.

        Parameters
        ----------
        chunks : tuple, optional
            Default: whole lines for a line; for a volume 8 inlines (or 8 crosslines for a
            crossline-sorted file, so that each block is few reads) of whole sections.
        """
        import dask.array as da

        if chunks is None:
            if self.kind == "line":
                chunks = self.shape
            elif self.sorting == "inline":
                chunks = (8, self.shape[1], self.n_samples)
            else:
                chunks = (self.shape[0], 8, self.n_samples)
        return da.from_array(self.array, chunks=chunks, asarray=False, fancy=False,
                             name=f"segy-{self.path.name}-{os.stat(self.path).st_mtime_ns}")

    def describe(self):
        """One line: kind, shape, sample axis and format."""
        step = float(self.samples[1] - self.samples[0]) if len(self.samples) > 1 else 0.0
        if self.kind == "line":
            extent = f"{self.shape[0]} traces"
        else:
            extent = (f"{self.shape[0]} inlines ({self.inlines[0]}..{self.inlines[-1]}) x {self.shape[1]} "
                      f"crosslines ({self.crosslines[0]}..{self.crosslines[-1]}), {self.sorting}-sorted")
            if self.n_missing:
                extent += (f", {self.n_missing} of {self.shape[0] * self.shape[1]} places without a trace "
                           "(read as zeros, left out of outputs)")
        return (f"{self.path.name}: {self.kind}, {extent}, {self.n_samples} samples every {step:g} "
                f"{self.sample_unit} ({self.sample_domain}) from {float(self.samples[0]):g}; "
                f"{SAMPLE_FORMATS[self.format][1]}")


class VolumeArray:
    """A `SeismicData`'s samples as an array-like: shape, dtype, ndim and slicing.

    Each index reads only the traces it needs (see `SeismicData.read`). Picklable, so a
    dask.distributed worker opens the file itself.
    """

    def __init__(self, data):
        self.data = data
        self.shape = tuple(int(n) for n in data.shape)
        self.dtype = np.dtype(np.float32)
        self.ndim = len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        values = self[...]
        return values if dtype is None else values.astype(dtype)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in key):
            at = next(i for i, k in enumerate(key) if k is Ellipsis)
            key = key[:at] + (slice(None),) * (self.ndim - len(key) + 1) + key[at + 1:]
        key = key + (slice(None),) * (self.ndim - len(key))
        ranges, picks = [], []
        for k, n in zip(key, self.shape):
            if isinstance(k, slice):
                start, stop, step = k.indices(n)
                if step > 0:
                    ranges.append(slice(start, max(start, stop)))
                    picks.append(slice(None, None, step))
                else:
                    indices = np.arange(start, stop, step)
                    ranges.append(slice(int(indices.min()), int(indices.max()) + 1) if len(indices) else slice(0, 0))
                    picks.append(indices - (indices.min() if len(indices) else 0))
            else:
                index = np.asarray(k)
                if index.dtype == bool:
                    index = np.flatnonzero(index)
                index = np.where(index < 0, index + n, index)
                low = int(index.min()) if index.size else 0
                high = int(index.max()) + 1 if index.size else 0
                ranges.append(slice(low, high))
                picks.append(index - low)
        box = self.data.read(*ranges[:-1])
        out = box[..., ranges[-1]]
        # numpy semantics for the picks: apply one axis at a time (integers drop their axis)
        axis = 0
        for pick in picks:
            if isinstance(pick, slice):
                out = out[(slice(None),) * axis + (pick,)]
                axis += 1
            else:
                out = np.take(out, pick, axis=axis)
                axis += np.ndim(pick)
        return out


# ---------------------------------------------------------------------- opening
def _samples_per_trace(head, endian):
    """Samples per trace as segyio reads them: bytes 3221-3222, or the SEG-Y rev 2 extended count
    (bytes 3269-3272) when the short one is 0 or the revision (byte 3501) is 2 or more."""
    short = int(np.frombuffer(head, endian + "u2", 1, 3220)[0])
    extended = int(np.frombuffer(head, endian + "i4", 1, 3268)[0])
    revision = head[3500]
    if extended > 0 and (short == 0 or revision >= 2):
        return extended
    return short


def _check_binary_header(path, head):
    """(endian, format code, samples) from the binary header, trying big-endian first."""
    found = []
    for endian in (">", "<"):
        code = int(np.frombuffer(head, endian + "u2", 1, 3224)[0])
        ns = _samples_per_trace(head, endian)
        found.append((endian, code, ns))
        if code in SAMPLE_FORMATS and ns > 0:
            return endian, code, ns
    for endian, code, ns in found:
        if code in _UNSUPPORTED and ns > 0:
            raise SaltviewerError(f"{path}: sample format {code} ({_UNSUPPORTED[code]}) is not supported; "
                                  f"saltviewer reads formats {', '.join(str(c) for c in sorted(SAMPLE_FORMATS))} "
                                  "(IBM or IEEE floats, integers).")
    raise SaltviewerError(f"{path}: is not a SEG-Y file: its binary header's sample format code reads "
                          f"{found[0][1]} (big-endian) or {found[1][1]} (little-endian), samples per trace "
                          f"{found[0][2]} or {found[1][2]}; expected a known format code "
                          f"({', '.join(str(c) for c in sorted(SAMPLE_FORMATS))}) and at least one sample.")


def _rev2_features(path, head, endian):
    """Refuse, naming it, a SEG-Y rev 2 feature that moves the traces where segyio does not look.

    segyio reads the rev 2 extended sample count and any number of extended textual headers
    given in byte 3505; it does not read additional trace headers (bytes 3507-3510), trailer
    stanzas (3529-3532), a variable number of textual headers (-1 in 3505) or traces whose
    first byte is elsewhere than after the textual headers (3521-3528).
    """
    if head[3500] < 2:
        return
    extended_text = int(np.frombuffer(head, endian + "i2", 1, 3504)[0])
    extra_headers = int(np.frombuffer(head, endian + "i4", 1, 3506)[0])
    first_trace = int(np.frombuffer(head, endian + "u8", 1, 3520)[0])
    trailers = int(np.frombuffer(head, endian + "i4", 1, 3528)[0])
    what = "SEG-Y rev 2 file"
    if extended_text < 0:
        raise SaltviewerError(f"{path}: {what} with a variable number of extended textual headers (byte 3505 reads "
                              f"{extended_text}); saltviewer reads files that give their count.")
    if extra_headers > 0:
        raise SaltviewerError(f"{path}: {what} with {extra_headers} additional 240-byte trace header(s) per trace "
                              "(bytes 3507-3510); saltviewer reads traces with one trace header.")
    if trailers != 0:
        raise SaltviewerError(f"{path}: {what} with {trailers} data trailer stanza(s) after the traces "
                              "(bytes 3529-3532); saltviewer reads files without trailers.")
    data_offset = _TEXT + _BINARY + _TEXT * max(extended_text, 0)
    if first_trace and first_trace != data_offset:
        raise SaltviewerError(f"{path}: {what} whose first trace starts at byte {first_trace} (bytes 3521-3528), "
                              f"not after its textual headers at {data_offset}; saltviewer reads traces that "
                              "follow the headers.")


def _length_cause(head, endian):
    """Why a file's size does not fit its traces: what its header says, or the usual causes."""
    if head[3500] >= 2 and int(np.frombuffer(head, endian + "i2", 1, 3502)[0]) == 0:
        return ("it is a SEG-Y rev 2 file whose fixed-length flag (bytes 3503-3504) is 0: its traces may differ "
                "in length (saltviewer reads SEG-Y with one trace length)")
    return "its traces differ in length or the file is truncated (saltviewer reads SEG-Y with one trace length)"


def open_segy(path, iline=189, xline=193):
    """Open a SEG-Y file as a 2-D line or a 3-D volume.

    Parameters
    ----------
    path : str or Path
    iline, xline : int
        Byte positions of the inline and crossline numbers in the trace headers (the
        SEG-Y rev 1 places by default).

    Returns
    -------
    data : SeismicData

    Raises
    ------
    SaltviewerError
        The file is missing or is not SEG-Y; its sample format is not supported; its traces
        differ in length; it uses a SEG-Y rev 2 feature that segyio does not read; it holds
        several offsets (pre-stack); or two traces of a volume share a place, each in one
        line that names the file, the cause and what was found.

    Notes
    -----
    See the module notes for how a line and a volume are told apart. A volume's axes are its
    inline and crossline numbers in ascending order, whatever the file's order.
    """
    import segyio

    path = Path(path)
    if not path.is_file():
        raise SaltviewerError(f"{path}: no such file." if not path.exists() else f"{path}: is not a file.")
    size = path.stat().st_size
    if size < _TEXT + _BINARY + _TRACE_HEADER:
        raise SaltviewerError(f"{path}: is not a SEG-Y file: {size} bytes, less than the "
                              f"{_TEXT + _BINARY + _TRACE_HEADER} of the headers of one trace.")
    with open(path, "rb") as handle:
        head = handle.read(_TEXT + _BINARY)
    endian, code, ns = _check_binary_header(path, head)
    _rev2_features(path, head, endian)
    name = "big" if endian == ">" else "little"
    try:
        handle = segyio.open(str(path), "r", iline=iline, xline=xline, strict=False, endian=name)
    except (RuntimeError, OSError, ValueError, IndexError) as error:
        if "inconsistent with file size" in str(error):
            raise SaltviewerError(f"{path}: {size} bytes do not hold a whole number of traces of {ns} samples "
                                  f"({SAMPLE_FORMATS[code][1]}); {_length_cause(head, endian)}.") from None
        raise SaltviewerError(f"{path}: is not a readable SEG-Y file ({error}).") from None
    with handle as f:
        n_traces = int(f.tracecount)
        n_samples = len(f.samples)
        itemsize = np.dtype(SAMPLE_FORMATS[code][0]).itemsize
        trace_bytes = _TRACE_HEADER + n_samples * itemsize
        data_offset = _TEXT + _BINARY + _TEXT * max(int(f.ext_headers), 0)
        expected = data_offset + n_traces * trace_bytes
        if n_traces < 1 or expected != size:
            raise SaltviewerError(f"{path}: {size} bytes, but {n_traces} traces of {n_samples} samples "
                                  f"({SAMPLE_FORMATS[code][1]}) take {expected}; {_length_cause(head, endian)}.")
        samples = np.asarray(f.samples, np.float64)
        text = _text(f)
        if not f.unstructured and len(f.offsets) > 1:
            raise SaltviewerError(f"{path}: holds {len(f.offsets)} offsets per trace position (pre-stack "
                                  "gathers); saltviewer reads stacked lines and volumes (one offset).")
        il = np.asarray(f.attributes(iline)[:], np.int64)
        xl = np.asarray(f.attributes(xline)[:], np.int64)
        offsets = np.asarray(f.attributes(segyio.TraceField.offset)[:], np.int64)
        cdp = np.asarray(f.attributes(segyio.TraceField.CDP)[:], np.int64)
    geometry = survey_geometry(path, il, xl, offsets, cdp, iline, xline)
    shape = geometry.pop("shape_traces") + (n_samples,)
    domain, unit = _sample_axis(text, head, endian)
    return SeismicData(path=path, shape=shape, samples=samples, format=code, endian=endian, n_traces=n_traces,
                       data_offset=data_offset, trace_bytes=trace_bytes, text=text, sample_domain=domain,
                       sample_unit=unit, **geometry)


def _sample_axis(text, head, endian):
    """(domain, unit) of the sample axis (see `SeismicData.sample_domain`)."""
    import re

    words = text.upper()
    if re.search(r"\bDEPTH\b", words) and not re.search(r"\b(TIME|TWT|TWO[- ]WAY)\b", words):
        system = int(np.frombuffer(head, endian + "i2", 1, 3254)[0])
        return "depth", "ft" if system == 2 else "m"
    return "time", "ms"


def _text(f):
    try:
        raw = f.text[0]
        return raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
    except (RuntimeError, UnicodeDecodeError, IndexError):
        return ""
