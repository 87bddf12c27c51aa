"""Predict every section of a volume, in memory or out of core with Dask.

The volume is a dask array over the SEG-Y file (`SeismicData.to_dask`), in blocks of a few
sections, each block cut along the sections' horizontal axis. `dask.array.map_overlap` gives
each block a halo of ``101 - 1`` traces on both sides, enough to hold every tile of the whole
section's grid that touches the block; the block is tiled on that global grid
(`predict_section` with ``origin`` and ``region``), so the result equals predicting each
section at once. Blocks are written to the output (a zarr array or a ``.npy`` file) as they
finish, so memory stays at a few blocks per worker whatever the volume's size.

Nothing is lost on the way out. A zarr chunk is written whole or not at all by one task: the
blocks are cut on the zarr chunks' grid (`output_chunks` gives the chunks that fit the blocks,
and blocks that would share a chunk of a given target are merged first), since two tasks
writing parts of one chunk each read, change and store the whole chunk, and one of them loses.
The output starts filled with NaN, and `check_written` reads it back after the last block: a
trace still NaN was never written, and the run fails with one line instead of leaving zeros.

Local threads by default (``scheduler=None``); a ``dask.distributed`` scheduler address runs
the blocks on that cluster, whose workers must see the SEG-Y file, the workspace and the
output folder at the same paths.
"""

import contextlib
import threading

import numpy as np

from .._atomic import atomic_path
from .._errors import SaltviewerError
from .tiling import TILE, predict_section

__all__ = ["predict_volume", "section_mask", "prediction_mask", "NpyTarget", "open_target", "volume_output", "output_chunks",
           "check_written", "mark_missing", "block_widths"]


def section_mask(probability, cutoff, min_area=0, keep_edges=()):
    """Salt mask of a section: ``probability > cutoff`` without salt regions under `min_area` pixels.

    Parameters
    ----------
    probability : (H, W) ndarray of float
    cutoff : float
    min_area : int
        Connected salt regions (4-connected) with fewer pixels are removed: the section's
        form of the tile rule that empties a tile with less salt than the tuned minimum area.
    keep_edges : sequence of {"left", "right"}
        Regions touching these edges are kept whatever their size (they continue beyond a
        block's halo, so their size is not known here).

    Returns
    -------
    mask : (H, W) ndarray of bool
    """
    mask = np.asarray(probability) > cutoff
    if min_area > 0 and mask.any():
        from scipy import ndimage

        labels, n = ndimage.label(mask)
        sizes = np.bincount(labels.reshape(-1), minlength=n + 1)
        small = sizes < min_area
        small[0] = False
        for edge in keep_edges:
            column = labels[:, 0] if edge == "left" else labels[:, -1]
            small[np.unique(column)] = False
        mask[small[labels]] = False
    return mask


def prediction_mask(values, cutoff, min_area=0, kind="line", direction="inline"):
    """The salt mask of a written prediction, by the rule of ``segy predict --mask``.

    `section_mask` on each whole section, as the prediction cut them: the line, or each
    inline (or crossline) section of a volume. The napari layers and any other reader of a
    probability output call this, so their mask is the one ``--mask`` writes.

    Parameters
    ----------
    values : (traces, samples) or (I, X, S) array, numpy or dask
        Probabilities in the file's layout; a dask array stays lazy (one section per block).
    cutoff : float
    min_area : int
    kind : {"line", "volume"}
    direction : {"inline", "crossline"}
        The sections the volume was predicted in (the sidecar's ``direction``).

    Returns
    -------
    mask : array of uint8, shaped like `values` (1 salt, 0 not; NaN places are 0)
    """
    if kind == "line":
        return section_mask(np.nan_to_num(np.asarray(values, np.float32).T, nan=0.0), cutoff,
                            min_area).T.astype(np.uint8)
    flip = direction == "crossline"

    def per_section(block):
        out = np.empty(block.shape, np.uint8)
        for s in range(block.shape[0]):
            probability = np.nan_to_num(np.asarray(block[s], np.float32).T, nan=0.0)
            out[s] = section_mask(probability, cutoff, min_area).T
        return out

    sections = values.transpose(1, 0, 2) if flip else values
    if hasattr(sections, "map_blocks"):
        sections = sections.rechunk({0: 1, 1: -1, 2: -1})
        mask = sections.map_blocks(per_section, dtype=np.uint8)
    else:
        mask = per_section(sections)
    return mask.transpose(1, 0, 2) if flip else mask


class NpyTarget:
    """A ``.npy`` file written block by block (``target[index] = block``), from any process.

    Each write maps the file, writes and unmaps it, so no written page stays in the process.
    Blocks write disjoint bytes of the file, so they need no lock.
    """

    def __init__(self, path, shape, dtype):
        self.path, self.shape, self.dtype = str(path), tuple(shape), np.dtype(dtype)
        self.ndim = len(self.shape)

    def __setitem__(self, index, block):
        values = np.load(self.path, mmap_mode="r+")
        values[index] = block
        values.flush()
        del values

    def __getitem__(self, index):
        values = np.load(self.path, mmap_mode="r")
        out = np.array(values[index])
        del values
        return out


def _fill_npy(path, dtype, value, piece_bytes=16 << 20):
    """Fill the data of a freshly made ``.npy`` file with `value`, a piece at a time."""
    values = np.load(path, mmap_mode="r")
    offset, nbytes = values.offset, values.nbytes
    del values
    pattern = np.full(max(1, piece_bytes // np.dtype(dtype).itemsize), value, dtype).tobytes()
    with open(path, "r+b") as handle:
        handle.seek(offset)
        done = 0
        while done < nbytes:
            handle.write(pattern[:min(len(pattern), nbytes - done)])
            done += min(len(pattern), nbytes - done)


def open_target(path, shape, dtype, chunks):
    """An output array at `path`, filled with NaN: a zarr array for ``*.zarr``, else a ``.npy`` (`NpyTarget`).

    The file is made under a temporary name beside `path`; call the returned ``finish(ok)``:
    with True it is put in place, with False removed. Returns ``(target, finish)``. See
    `volume_output` for the same as a context manager.

    Parameters
    ----------
    path : str or Path
    shape : tuple of int
    dtype : dtype
    chunks : tuple of int
        The zarr chunks (see `output_chunks`); unused for ``.npy``.
    """
    from pathlib import Path

    path = Path(path)
    stack = contextlib.ExitStack()
    if path.suffix == ".zarr":
        import shutil
        import tempfile

        import zarr

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            target = zarr.open_array(str(tmp), mode="w", shape=shape, dtype=dtype, chunks=chunks, fill_value=np.nan)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

        def finish(ok):
            if ok:
                if path.exists():
                    shutil.rmtree(path)
                tmp.rename(path)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        return target, finish
    context = atomic_path(path, suffix=".npy")
    tmp = stack.enter_context(context)
    try:
        np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape).flush()
        _fill_npy(tmp, dtype, np.nan)
    except BaseException as error:
        stack.__exit__(type(error), error, None)
        raise

    def finish(ok):
        if ok:
            stack.close()
        else:
            stack.__exit__(RuntimeError, RuntimeError("failed"), None)
    return NpyTarget(tmp, shape, dtype), finish


@contextlib.contextmanager
def volume_output(path, shape, chunks, dtype=np.float32):
    """A NaN-filled output array under a temporary name, put at `path` when the block ends without error.

    On any error the temporary array is removed and whatever was at `path` stays as it was,
    so no half-written output is ever left.

    Yields
    ------
    target : zarr array or NpyTarget
    """
    from pathlib import Path

    try:
        target, finish = open_target(path, shape, dtype, chunks)
    except OSError as error:
        raise SaltviewerError(f"{path}: cannot be written ({error.strerror or error}).") from None
    ok = False
    try:
        yield target
        ok = True
    finally:
        try:
            finish(ok)
        except OSError as error:
            if ok:
                raise SaltviewerError(f"{Path(path)}: cannot be written ({error.strerror or error}).") from None


def block_widths(width, across=512, halo=TILE - 1):
    """Traces of each block along a section: equal blocks of about `across`, none under `halo`.

    Every block but the last has the same width, so the blocks' edges fall on a regular grid
    (that of the output's chunks); the last is shorter, or, when it would be narrower than a
    halo, joined to the one before (whose edges still lie on the grid).

    Examples
    --------
    >>> block_widths(1100, 512, 100)
    (367, 367, 366)
    >>> block_widths(600, 101, 100)
    (100, 100, 100, 100, 100, 100)
    >>> block_widths(250, 512, 100)
    (250,)
    """
    width, halo = int(width), int(halo)
    pieces = max(1, min(-(-width // max(int(across), 1)), width // max(halo, 1)))
    size = -(-width // pieces)
    sizes = [size] * (width // size)
    rest = width - sum(sizes)
    if rest:
        if rest < halo and sizes:
            sizes[-1] += rest
        else:
            sizes.append(rest)
    return tuple(sizes)


def _halo(mask_rule):
    return (TILE - 1) * (2 if mask_rule is not None else 1)


def output_chunks(shape, direction="inline", chunks=None, mask_rule=None):
    """The chunks of an output array that the blocks of `predict_volume` write whole.

    Parameters
    ----------
    shape : (I, X, S) tuple of int
    direction, chunks, mask_rule
        As given to `predict_volume`.

    Returns
    -------
    chunks : (int, int, int)
        For a zarr output: every block covers whole chunks, so no two blocks write one chunk.
    """
    per_block, across = chunks or (2, 512)
    n_il, n_xl, n_samples = (int(n) for n in shape)
    width = n_xl if direction == "inline" else n_il
    piece = block_widths(width, across, _halo(mask_rule))[0]
    per_block = max(1, min(int(per_block), n_il if direction == "inline" else n_xl))
    return (per_block, piece, n_samples) if direction == "inline" else (piece, per_block, n_samples)


def _aligned(chunks, grid):
    """Dask `chunks` merged so that every block edge falls on an edge of the chunk `grid`."""
    out = []
    for sizes, step in zip(chunks, grid):
        total, edge, run, merged = sum(sizes), 0, 0, []
        for n in sizes:
            edge, run = edge + n, run + n
            if edge % int(step) == 0 or edge == total:
                merged.append(run)
                run = 0
        out.append(tuple(merged))
    return tuple(out)


def _boxes(values, piece_bytes=64 << 20):
    """Boxes ``(inlines, crosslines)`` of an output's chunks (or of a few sections) covering it."""
    shape = tuple(int(n) for n in values.shape)
    grid = getattr(values, "chunks", None)
    if not grid or not all(isinstance(c, (int, np.integer)) for c in grid):
        per = max(1, piece_bytes // max(1, int(np.prod(shape[1:])) * 4))
        grid = (per,) + shape[1:]
    for i in range(0, shape[0], int(grid[0])):
        for x in range(0, shape[1], int(grid[1])):
            yield slice(i, i + int(grid[0])), slice(x, x + int(grid[1]))


def mark_missing(values, present):
    """Write NaN over the places of an output where the survey has no trace (one writer, chunk by chunk).

    Parameters
    ----------
    values : (I, X, S) array-like, written in place
    present : (I, X) ndarray of bool, or None (nothing to do)
    """
    if present is None or present.all():
        return values
    for box in _boxes(values):
        missing = ~present[box]
        if missing.any():
            block = np.asarray(values[box], np.float32).copy()
            block[missing] = np.nan
            values[box] = block
    return values


def check_written(values, name="the output", present=None):
    """Fail when any trace of an output still holds NaN, the value it was made with.

    Parameters
    ----------
    values : (I, X, S) array-like
        A zarr array, `NpyTarget` or ndarray, read a chunk (or a few sections) at a time.
    name : str
        The output, for the message.
    present : (I, X) ndarray of bool, optional
        Places that hold a trace; the others (no trace in the survey: NaN on purpose) are
        not checked.

    Raises
    ------
    SaltviewerError
        ``<name>: N of T traces were never written (the first at inline position i,
        crossline position x); nothing was kept.``
    """
    missing, first = 0, None
    for box in _boxes(values):
        holes = np.isnan(np.asarray(values[box])).any(axis=-1)
        if present is not None:
            holes &= present[box]
        if holes.any():
            missing += int(holes.sum())
            if first is None:
                a, b = np.argwhere(holes)[0]
                first = (box[0].start + int(a), box[1].start + int(b))
    if missing:
        total = int(values.shape[0]) * int(values.shape[1]) if present is None else int(present.sum())
        raise SaltviewerError(f"{name}: {missing} of {total} traces were never written (the first at inline "
                              f"position {first[0]}, crossline position {first[1]}); nothing was kept.")


def _predict_block(block, predict, overlap, width, widths, halo, mask_rule, mute=None, block_id=None):
    """Sections ``block[k].T`` (a block with its halo along axis 1); the core columns returned.

    Probabilities are blended over the core and, for the mask rule, as far into the halo
    as every touching tile is in the block (``halo - (TILE - 1)`` columns), so that salt
    regions crossing the core's edge are measured whole up to that reach.
    """
    k = block_id[1]
    start = int(sum(widths[:k]))
    stop = start + int(widths[k])
    origin = max(0, start - halo)
    reach = max(0, halo - (TILE - 1))
    out = np.empty((block.shape[0], stop - start, block.shape[2]), np.float32)
    for s in range(block.shape[0]):
        image = np.asarray(block[s], np.float32).T
        low, high = max(0, start - reach), min(width, stop + reach)
        blended = predict_section(image, predict, overlap, origin=origin, full_width=width, region=(low, high),
                                  mute=mute)
        if mask_rule is not None:
            edges = [side for side, cut in (("left", low > 0), ("right", high < width)) if cut]
            blended = section_mask(blended, mask_rule[0], mask_rule[1], edges).astype(np.float32)
        out[s] = blended[:, start - low:stop - low].T
    return out


def predict_volume(volume, predict, overlap=50, *, direction="inline", engine="dask", scheduler=None,
                   chunks=None, mask_rule=None, target=None, num_workers=None, progress=None, output_name=None,
                   mute=None):
    """Blended salt probabilities (or masks) of every inline or crossline section of a volume.

    Parameters
    ----------
    volume : SeismicData or (I, X, S) array
        A 3-D SEG-Y volume, or its samples.
    predict : callable
        ``predict(tiles, rows)`` as for `predict_section`; picklable for a distributed
        scheduler (`saltviewer.training.section.SectionPredictor` is).
    overlap : int
    direction : {"inline", "crossline"}
        Sections predicted: each inline (sections across the crosslines) or each crossline.
    engine : {"dask", "memory"}
        ``"memory"`` reads the whole volume and predicts section after section (the
        reference); ``"dask"`` works out of core, block by block.
    scheduler : str, optional
        ``None`` for local threads, ``"sync"`` for one thread, or the address of a
        ``dask.distributed`` scheduler (``tcp://host:8786``).
    chunks : (int, int), optional
        Sections per block and traces per block along the section (default 2 and 512).
    mask_rule : (float, int), optional
        ``(cutoff, min_area)``: write masks (0/1) by `section_mask` instead of probabilities.
    target : array-like, optional
        Where blocks are stored (zarr array or `NpyTarget`, best made by `volume_output`
        with `output_chunks`); by default the result is returned in memory. Blocks that
        would write parts of one zarr chunk are merged first, and the target is checked
        after writing (`check_written`: a target made filled with NaN must hold none).
    num_workers : int, optional
        Threads for the local scheduler.
    progress : callable, optional
        ``progress(blocks done, blocks)`` (local schedulers).
    output_name : str, optional
        The output as the messages name it (default "the output").
    mute : Mute, optional
        Quiet zones get no salt (see `predict_section`).

    Returns
    -------
    values : (I, X, S) ndarray of float32, or `target` when one was given
        NaN at the places of a volume's grid that hold no trace (`SeismicData.present`);
        they are predicted with zeros for amplitudes but never reported as a result.
    """
    from .segy import SeismicData

    if direction not in ("inline", "crossline"):
        raise SaltviewerError(f"--direction must be inline or crossline; got {direction!r}.")
    flip = direction == "crossline"
    present = volume.present if isinstance(volume, SeismicData) else None
    name = output_name or "the output"
    if engine == "memory":
        values = volume.read() if isinstance(volume, SeismicData) else np.asarray(volume, np.float32)
        sections = values.transpose(1, 0, 2) if flip else values
        out = np.empty(sections.shape, np.float32)
        for s in range(len(sections)):
            image = sections[s].T
            blended = predict_section(image, predict, overlap, mute=mute)
            if mask_rule is not None:
                blended = section_mask(blended, *mask_rule).astype(np.float32)
            out[s] = blended.T
            if progress is not None:
                progress(s + 1, len(sections))
        out = out.transpose(1, 0, 2) if flip else out
        mark_missing(out, present)
        if target is not None:
            target[...] = out
            check_written(target, name, present)
            return target
        return out
    if engine != "dask":
        raise SaltviewerError(f"engine must be 'dask' or 'memory'; got {engine!r}.")
    import dask
    import dask.array as da

    per_block, across = chunks or (2, 512)
    if isinstance(volume, SeismicData):
        array = volume.to_dask()
    else:
        array = da.from_array(volume, chunks=(per_block, volume.shape[1], volume.shape[2]))
    if flip:
        array = array.transpose(1, 0, 2)
    n_sections, width, n_samples = array.shape
    halo = _halo(mask_rule)
    sizes = block_widths(width, across, halo)       # each piece at least a halo wide
    array = array.rechunk((per_block, sizes, n_samples))
    depth = halo if len(sizes) > 1 else 0
    result = da.map_overlap(_predict_block, array, depth={0: 0, 1: depth, 2: 0}, boundary="none", trim=False,
                            dtype=np.float32, meta=np.empty((0, 0, 0), np.float32), predict=predict,
                            overlap=overlap, width=width, widths=array.chunks[1], halo=depth,
                            mask_rule=mask_rule, mute=mute, name="section-predict")
    if flip:
        result = result.transpose(1, 0, 2)
    grid = getattr(target, "chunks", None)
    if grid is not None and all(isinstance(c, (int, np.integer)) for c in grid):
        aligned = _aligned(result.chunks, grid)      # one writer per zarr chunk: no lost update
        if aligned != result.chunks:
            result = result.rechunk(aligned)
    n_blocks = int(np.prod(result.numblocks))
    if scheduler not in (None, "threads", "sync", "synchronous"):
        done = mark_missing(_compute_distributed(result, scheduler, target), present)
        if target is not None:
            check_written(target, name, present)
        return done
    callbacks = [_BlockProgress(progress, n_blocks)] if progress is not None else []
    options = {"scheduler": "sync" if scheduler in ("sync", "synchronous") else "threads"}
    if num_workers and options["scheduler"] == "threads":
        options["num_workers"] = int(num_workers)
    with dask.config.set(**options):
        for callback in callbacks:
            callback.register()
        try:
            if target is not None:
                da.store(result, target, lock=False)
                mark_missing(target, present)
                check_written(target, name, present)
                return target
            return mark_missing(result.compute(), present)
        finally:
            for callback in callbacks:
                callback.unregister()


def _compute_distributed(result, address, target):
    import dask.array as da

    try:
        from distributed import Client
    except ImportError:
        raise SaltviewerError("--scheduler needs dask.distributed: pip install distributed.") from None
    import dask

    try:
        client = Client(address, timeout=dask.config.get("saltviewer.scheduler-timeout", "10s"), set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise SaltviewerError(f"--scheduler {address}: cannot reach a dask scheduler there ({error}).") from None
    with client:
        if target is not None:
            da.store(result, target, lock=False, compute=True, scheduler=client)
            return target
        return client.compute(result).result()


class _BlockProgress:
    """Counts finished prediction blocks for a ``progress(done, total)`` callable."""

    def __init__(self, progress, total):
        from dask.callbacks import Callback

        self.progress, self.total, self.done = progress, total, 0
        self._lock = threading.Lock()
        outer = self

        class _Callback(Callback):
            def _posttask(self, key, result, dsk, state, worker_id):
                name = key[0] if isinstance(key, tuple) else key
                if isinstance(name, str) and name.startswith("section-predict"):
                    with outer._lock:
                        outer.done += 1
                        outer.progress(min(outer.done, outer.total), outer.total)

        self._callback = _Callback()

    def register(self):
        self._callback.register()

    def unregister(self):
        self._callback.unregister()
