"""SEG-Y in and out: geometry and header round trips, errors, scaling, tiling and blending,
the Dask path against the in-memory path, tiles folders and masks put back."""

import json
import re

import numpy as np
import pytest

segyio = pytest.importorskip("segyio", reason="segyio is not installed (pip install segyio)")
pytest.importorskip("dask", reason="dask is not installed (pip install 'dask[array]')")

from saltviewer import SaltviewerError, open_dataset  # noqa: E402
from saltviewer.seismic import (  # noqa: E402
    blend_window, cut_tiles, fit_scaling, ibm_to_float32, open_segy, predict_section, predict_volume, read_manifest,
    section_mask, section_masks, tile_grid, tile_starts, write_segy_like)
from saltviewer.seismic.volume import NpyTarget, open_target  # noqa: E402


def make_line(path, traces=300, samples=250, fmt=5, seed=0):
    values = np.random.default_rng(seed).standard_normal((traces, samples)).astype(np.float32)
    if fmt == 3:
        values = np.rint(values * 1000)
    segyio.tools.from_array(str(path), values, format=fmt)
    return values.astype(np.float32)


def make_volume(path, shape=(4, 150, 120), fmt=5, seed=0, sorting=2):
    values = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    spec = segyio.spec()
    spec.iline, spec.xline, spec.format, spec.sorting = 189, 193, fmt, sorting
    spec.samples = np.arange(shape[2]) * 2.0
    spec.ilines, spec.xlines, spec.offsets = np.arange(10, 10 + shape[0]), np.arange(100, 100 + shape[1]), [1]
    with segyio.create(str(path), spec) as f:
        t = 0
        outer, inner = (range(shape[0]), range(shape[1])) if sorting == 2 else (range(shape[1]), range(shape[0]))
        for a in outer:
            for b in inner:
                il, xl = (a, b) if sorting == 2 else (b, a)
                f.header[t] = {segyio.TraceField.INLINE_3D: 10 + il, segyio.TraceField.CROSSLINE_3D: 100 + xl,
                               segyio.TraceField.CDP_X: 1000 + il, segyio.TraceField.CDP_Y: 7 * xl,
                               segyio.TraceField.TRACE_SAMPLE_COUNT: shape[2]}
                f.trace[t] = values[il, xl]
                t += 1
        f.bin.update({segyio.BinField.Samples: shape[2], segyio.BinField.Format: fmt, segyio.BinField.Interval: 2000})
    return values


# ------------------------------------------------------------------ reading and writing
@pytest.mark.parametrize("fmt", [1, 3, 5])
def test_line_reads_as_segyio_does(tmp_path, fmt):
    path = tmp_path / "line.sgy"
    make_line(path, fmt=fmt)
    data = open_segy(path)
    assert data.kind == "line" and data.shape == (300, 250) and data.format == fmt
    with segyio.open(str(path), ignore_geometry=True) as f:
        reference = np.asarray(f.trace.raw[:], np.float32)
        assert np.array_equal(data.samples, f.samples)
    assert np.array_equal(data.traces(), reference)
    assert np.array_equal(data.array[10:20, 5:9], reference[10:20, 5:9])


@pytest.mark.parametrize("sorting", [2, 1])
def test_volume_geometry_and_reads(tmp_path, sorting):
    path = tmp_path / "cube.sgy"
    values = make_volume(path, sorting=sorting)
    data = open_segy(path)
    assert data.kind == "volume" and data.shape == values.shape
    assert data.sorting == ("inline" if sorting == 2 else "crossline")
    assert list(data.inlines) == list(range(10, 14)) and data.crosslines[0] == 100
    with segyio.open(str(path)) as f:
        cube = segyio.tools.cube(f)          # segyio's cube is in file order: (crosslines, inlines, samples)
        assert np.array_equal(data.read(), cube if sorting == 2 else cube.transpose(1, 0, 2))
    array = data.array
    for key in [(1,), (slice(1, 3), slice(20, 40)), (2, 7), (slice(None), 5, slice(3, 9)), (Ellipsis, 4),
                (slice(None, None, 2), slice(100, 10, -3)), (np.array([0, 3]),)]:
        assert np.array_equal(array[key], values[key]), key
    assert np.array_equal(data.to_dask((3, 70, 120)).compute(), values)


def test_ibm_floats_match_known_words():
    words = np.array([0x41100000, 0xC276A000, 0x00000000, 0x42640000, 0x3F800000], np.uint32)
    assert ibm_to_float32(words).tolist() == [1.0, -118.625, 0.0, 100.0, 0.03125]


def _raw(path):
    data = open_segy(path)
    return path.read_bytes()[:data.data_offset], data.raw_traces(0, data.n_traces)["header"].tobytes()


@pytest.mark.parametrize("fmt", [1, 3])
def test_written_segy_keeps_every_header_byte(tmp_path, fmt):
    source = tmp_path / "in.sgy"
    make_volume(source, fmt=fmt) if fmt == 1 else make_line(source, fmt=fmt)
    data = open_segy(source)
    values = np.random.default_rng(3).random(data.shape).astype(np.float32)
    out = write_segy_like(data, tmp_path / "out.sgy", values, chunk_bytes=10_000)
    head_in, headers_in = _raw(source)
    head_out, headers_out = _raw(out)
    assert headers_out == headers_in
    assert head_out[:3224] == head_in[:3224] and head_out[3226:] == head_in[3226:]
    with segyio.open(str(out), ignore_geometry=True) as f:
        assert int(f.bin[segyio.BinField.Format]) == 5
        assert np.array_equal(f.trace.raw[:], values.reshape(-1, data.n_samples))
    back = open_segy(out)
    assert back.shape == data.shape and np.array_equal(back.read(), values)


def test_written_segy_refuses_the_input_and_wrong_shapes(tmp_path):
    source = tmp_path / "in.sgy"
    make_line(source)
    data = open_segy(source)
    with pytest.raises(SaltviewerError, match="input file"):
        write_segy_like(data, source, np.zeros(data.shape, np.float32))
    with pytest.raises(SaltviewerError, match=r"shape \(3, 3\)"):
        write_segy_like(data, tmp_path / "o.sgy", np.zeros((3, 3)))
    assert not (tmp_path / "o.sgy").exists()


def test_not_segy_errors_name_the_file(tmp_path):
    png = tmp_path / "tile.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(5000))
    with pytest.raises(SaltviewerError, match=r"tile.png: is not a SEG-Y file: its binary header"):
        open_segy(png)
    short = tmp_path / "short.sgy"
    short.write_bytes(b"C" * 100)
    with pytest.raises(SaltviewerError, match=r"short.sgy: is not a SEG-Y file: 100 bytes"):
        open_segy(short)
    with pytest.raises(SaltviewerError, match="no such file"):
        open_segy(tmp_path / "missing.sgy")


def test_unsupported_format_and_truncated_files(tmp_path):
    path = tmp_path / "line.sgy"
    make_line(path)
    raw = bytearray(path.read_bytes())
    raw[3224:3226] = (4).to_bytes(2, "big")
    (tmp_path / "gain.sgy").write_bytes(raw)
    with pytest.raises(SaltviewerError, match=r"gain.sgy: sample format 4 \(4-byte fixed point with gain\)"):
        open_segy(tmp_path / "gain.sgy")
    (tmp_path / "cut.sgy").write_bytes(path.read_bytes()[:-100])
    with pytest.raises(SaltviewerError, match=r"cut.sgy: .*differ in length or the file is truncated"):
        open_segy(tmp_path / "cut.sgy")


def test_irregular_and_prestack_volumes_are_refused(tmp_path):
    path = tmp_path / "cube.sgy"
    make_volume(path, shape=(3, 5, 20))
    with segyio.open(str(path), "r+") as f:
        f.header[7] = {segyio.TraceField.CROSSLINE_3D: 100}        # a trace in another's place
    with pytest.raises(SaltviewerError, match=r"cube.sgy: irregular geometry: .* 3 and 5 values but the 15 traces "
                                              r"sit at 14 distinct places"):
        open_segy(path)
    spec = segyio.spec()
    spec.format, spec.sorting, spec.samples = 5, 2, np.arange(10)
    spec.ilines, spec.xlines, spec.offsets = [1, 2], [1, 2], [1, 2]
    with segyio.create(str(tmp_path / "gathers.sgy"), spec) as f:
        t = 0
        for il in (1, 2):
            for xl in (1, 2):
                for off in (1, 2):
                    f.header[t] = {189: il, 193: xl, segyio.TraceField.offset: off}
                    f.trace[t] = np.zeros(10, np.float32)
                    t += 1
    with pytest.raises(SaltviewerError, match=r"gathers.sgy: holds 2 offsets"):
        open_segy(tmp_path / "gathers.sgy")


# ------------------------------------------------------------------ scaling
def test_file_scaling_is_a_robust_clip_and_tile_scaling_stretches_each_tile(tmp_path):
    values = make_line(tmp_path / "line.sgy")
    data = open_segy(tmp_path / "line.sgy")
    scaling = fit_scaling(data)
    low, high = np.percentile(values, [0.5, 99.5])
    assert scaling.low == pytest.approx(low, rel=1e-5) and scaling.high == pytest.approx(high, rel=1e-5)
    assert scaling.traces_used == 300
    tiles = np.stack([np.linspace(low, high, 101 * 101).reshape(101, 101), np.full((101, 101), high * 10)])
    grey = scaling.to_uint8(tiles)
    assert grey[0].min() == 0 and grey[0].max() == 255 and (grey[1] == 255).all()
    per_tile = fit_scaling(data, "tile").to_uint8(tiles * 0.01)
    assert per_tile[0].min() == 0 and per_tile[0].max() == 255 and (per_tile[1] == 0).all()
    assert fit_scaling(data, max_traces=10).traces_used == 10
    with pytest.raises(SaltviewerError, match="--scaling must be one of file, tile; got 'global'"):
        fit_scaling(data, "global")


# ------------------------------------------------------------------ tiling and blending
def test_tiles_cover_every_pixel_with_the_last_flush():
    for length in (101, 102, 250, 1000):
        for overlap in (0, 30, 100):
            starts = tile_starts(length, overlap=overlap)
            covered = np.zeros(length, int)
            for s in starts:
                covered[s:s + 101] += 1
            assert covered.min() >= 1 and starts[-1] == length - 101 and np.all(np.diff(starts) <= 101 - overlap)
    rows, cols = tile_grid((250, 330), overlap=50)
    assert len(rows) == len(tile_starts(250, overlap=50)) * len(tile_starts(330, overlap=50))
    with pytest.raises(SaltviewerError, match="--overlap must be a whole number of pixels from 0 to 100; got 101"):
        tile_starts(500, overlap=101)


@pytest.mark.parametrize("shape,overlap", [((250, 330), 50), ((101, 101), 0), ((60, 400), 20), ((300, 40), 80),
                                           ((7, 3), 0)])
def test_a_constant_prediction_blends_to_the_same_constant(shape, overlap):
    image = np.random.default_rng(0).standard_normal(shape)
    out = predict_section(image, lambda tiles, rows: np.full(tiles.shape, 0.37, np.float32), overlap)
    assert out.shape == shape and np.allclose(out, 0.37, atol=1e-6)
    same = predict_section(image, lambda tiles, rows: tiles, overlap)       # identity: the image back
    assert np.allclose(same, image, atol=1e-5)


def test_blending_matches_a_pixel_by_pixel_reference():
    rng = np.random.default_rng(1)
    image = rng.standard_normal((180, 230)).astype(np.float32)
    noise = {}

    def predict(tiles, rows):          # depends on the tile's place: the blend is a real weighted mean
        return np.stack([t * 0 + rng.random() for t in tiles]).astype(np.float32)

    def remember(tiles, rows):
        out = predict(tiles, rows)
        for t, r, p in zip(tiles, rows, out):
            noise[(int(r), float(t[0, 0]))] = float(p[0, 0])
        return out

    out = predict_section(image, remember, overlap=40)
    window = blend_window()
    rows, cols = tile_grid(image.shape, overlap=40)
    total = np.zeros(image.shape)
    weight = np.zeros(image.shape)
    for r, c in zip(rows, cols):
        value = noise[(int(r), float(image[r, c]))]
        for y in range(101):
            for x in range(101):
                total[r + y, c + x] += window[y, x] * value
                weight[r + y, c + x] += window[y, x]
    assert np.allclose(out, total / weight, atol=1e-5)
    assert window.min() > 0 and window[50, 50] == window.max()


def test_a_part_of_a_section_with_its_halo_equals_the_whole():
    image = np.random.default_rng(2).standard_normal((150, 700)).astype(np.float32)

    def predict(tiles, rows):
        return 1 / (1 + np.exp(-tiles - rows[:, None, None] / 50.0))

    whole = predict_section(image, predict, 30)
    part = predict_section(image[:, 200:500], predict, 30, origin=200, full_width=700, region=(300, 400))
    assert np.array_equal(part, whole[:, 300:400])
    with pytest.raises(SaltviewerError, match="give a halo of 100 columns"):
        predict_section(image[:, 280:420], predict, 30, origin=280, full_width=700, region=(300, 400))


def test_section_mask_removes_small_regions_unless_cut_by_an_edge():
    p = np.zeros((50, 50), np.float32)
    p[5:10, 5:10] = 0.9              # 25 px
    p[20:40, 20:40] = 0.9            # 400 px
    p[0:3, 45:50] = 0.9              # 15 px at the right edge
    mask = section_mask(p, 0.5, 100)
    assert mask.sum() == 400
    assert section_mask(p, 0.5, 100, keep_edges=("right",)).sum() == 415


# ------------------------------------------------------------------ volumes: Dask against memory
def sigmoid_of_tiles(tiles, rows):
    return (1 / (1 + np.exp(-2 * tiles - rows[:, None, None] / 60.0))).astype(np.float32)


@pytest.mark.parametrize("direction", ["inline", "crossline"])
def test_dask_blocks_give_the_in_memory_result(tmp_path, direction):
    path = tmp_path / "cube.sgy"
    make_volume(path, shape=(5, 260, 130))
    data = open_segy(path)
    reference = predict_volume(data, sigmoid_of_tiles, 30, direction=direction, engine="memory")
    blocks = predict_volume(data, sigmoid_of_tiles, 30, direction=direction, chunks=(2, 120))
    assert np.array_equal(blocks, reference)
    masks_memory = predict_volume(data, sigmoid_of_tiles, 30, direction=direction, engine="memory",
                                  mask_rule=(0.6, 40))
    np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.float32, shape=data.shape).flush()
    target = NpyTarget(tmp_path / "out.npy", data.shape, np.float32)
    predict_volume(data, sigmoid_of_tiles, 30, direction=direction, chunks=(3, 101), mask_rule=(0.6, 40),
                   target=target, scheduler="sync")
    assert 0 < masks_memory.mean() < 1
    assert np.array_equal(np.load(tmp_path / "out.npy"), masks_memory)


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path):
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    path = tmp_path / "cube.sgy"
    make_volume(path, shape=(2, 120, 101))
    import dask

    with pytest.raises(SaltviewerError, match="--scheduler tcp://127.0.0.1:9: cannot reach a dask scheduler"):
        with dask.config.set({"saltviewer.scheduler-timeout": "1s"}):       # 10 s by default
            predict_volume(open_segy(path), sigmoid_of_tiles, 0, scheduler="tcp://127.0.0.1:9")


def test_blocks_sharing_a_zarr_chunk_lose_nothing(tmp_path):
    """The race of issue 26: many blocks of a section, several threads, one zarr chunk per two
    whole sections (as `segy predict` made them). Each block used to read, change and store the
    chunk, and blocks written at the same time lost each other's traces (zeros, exit 0)."""
    pytest.importorskip("zarr", reason="zarr is not installed")
    volume = np.random.default_rng(4).standard_normal((4, 600, 101)).astype(np.float32)
    reference = predict_volume(volume, sigmoid_of_tiles, 0, engine="memory")
    for run in range(4):
        target, finish = open_target(tmp_path / f"run{run}.zarr", volume.shape, np.float32, (2, 600, 101))
        predict_volume(volume, sigmoid_of_tiles, 0, chunks=(1, 101), target=target, num_workers=8)
        written = target[...]
        lost = int((written != reference).any(axis=2).sum())
        assert lost == 0, f"run {run}: {lost} of {600 * 4} traces lost"
        finish(True)


class ForgetfulTarget:
    """A real output array that forgets its `forget`-th write (a lost block, made on purpose)."""

    def __init__(self, target, forget=1):
        import threading

        self.target, self.forget, self.calls, self.lock = target, forget, 0, threading.Lock()
        self.shape, self.dtype, self.ndim, self.chunks = target.shape, target.dtype, target.ndim, target.chunks

    def __setitem__(self, index, block):
        with self.lock:
            self.calls += 1
            skip = self.calls == self.forget
        if not skip:
            self.target[index] = block

    def __getitem__(self, index):
        return self.target[index]


@pytest.mark.parametrize("suffix", [".zarr", ".npy"])
def test_an_unwritten_block_fails_in_one_line_and_leaves_no_file(tmp_path, suffix):
    from saltviewer.seismic import output_chunks, volume_output

    pytest.importorskip("zarr", reason="zarr is not installed")
    volume = np.random.default_rng(5).standard_normal((4, 320, 101)).astype(np.float32)
    chunks = output_chunks(volume.shape, "inline", (2, 110))
    assert chunks == (2, 107, 101)
    path = tmp_path / f"salt{suffix}"
    with pytest.raises(SaltviewerError) as raised:
        with volume_output(path, volume.shape, chunks) as target:
            if suffix == ".npy":
                target.chunks = chunks
            predict_volume(volume, sigmoid_of_tiles, 0, chunks=(2, 110), target=ForgetfulTarget(target, 3),
                           num_workers=2, output_name="out/salt.sgy")
    message = str(raised.value)
    assert len(message.splitlines()) == 1
    assert re.match(r"out/salt.sgy: 21[24] of 1280 traces were never written \(the first at inline position \d+, "
                    r"crossline position \d+\); nothing was kept.$", message), message
    assert list(tmp_path.iterdir()) == []           # no half file, no hidden temporary left
    with volume_output(path, volume.shape, chunks) as target:        # and with every write, the result
        predict_volume(volume, sigmoid_of_tiles, 0, chunks=(2, 110), target=target, num_workers=2)
    written = np.load(path) if suffix == ".npy" else __import__("zarr").open_array(str(path), mode="r")[...]
    assert np.array_equal(written, predict_volume(volume, sigmoid_of_tiles, 0, engine="memory"))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_blocks_follow_the_output_chunks():
    from saltviewer.seismic import block_widths, output_chunks

    for width in (101, 250, 513, 600, 1024, 1100, 2047):
        for across in (101, 300, 512):
            for halo in (100, 200):
                sizes = block_widths(width, across, halo)
                assert sum(sizes) == width and min(sizes) >= min(halo, width)
                assert all(n == sizes[0] for n in sizes[:-1]) and sizes[-1] <= sizes[0] + halo
    assert output_chunks((5, 1100, 300)) == (2, 367, 300)
    assert output_chunks((1100, 7, 300), "crossline", (3, 512), mask_rule=(0.5, 10)) == (367, 3, 300)


def test_a_distributed_cluster_gives_the_same_result_and_writes_every_trace(tmp_path):
    """Workers in other processes (where a lock of one process would not help): the result in
    memory, the blocks of `output_chunks` and blocks merged onto a coarser zarr grid."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    pytest.importorskip("zarr", reason="zarr is not installed")
    import zarr

    from saltviewer.seismic import output_chunks, volume_output

    path = tmp_path / "cube.sgy"
    make_volume(path, shape=(4, 420, 101))
    data = open_segy(path)
    runs = [("inline", (1, 101), output_chunks(data.shape, "inline", (1, 101))),
            ("crossline", (2, 101), (2, 420, 101))]          # a grid coarser than the blocks
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster:
        for direction, chunks, grid in runs:
            out = tmp_path / f"{direction}.zarr"
            with volume_output(out, data.shape, grid) as target:
                predict_volume(data, sigmoid_of_tiles, 0, direction=direction, chunks=chunks, target=target,
                               scheduler=cluster.scheduler_address)
            reference = predict_volume(data, sigmoid_of_tiles, 0, direction=direction, engine="memory")
            assert np.array_equal(zarr.open_array(str(out), mode="r")[...], reference), direction
        remote = predict_volume(data, sigmoid_of_tiles, 20, chunks=(1, 110), scheduler=cluster.scheduler_address)
    assert np.array_equal(remote, predict_volume(data, sigmoid_of_tiles, 20, engine="memory"))


# ------------------------------------------------------------------ tiles folders and masks back
def test_tiles_folder_opens_as_a_dataset_and_knows_where_each_tile_sits(tmp_path):
    values = make_line(tmp_path / "line.sgy", traces=330, samples=210)
    manifest = cut_tiles(tmp_path / "line.sgy", tmp_path / "tiles", overlap=20)
    dataset = open_dataset(tmp_path / "tiles")
    assert len(dataset) == len(manifest) == len(tile_grid((210, 330), overlap=20)[0])
    scaling = fit_scaling(open_segy(tmp_path / "line.sgy"))
    for tile_id in dataset.ids[:5]:
        _, row, col = manifest.place(tile_id)
        expected = scaling.to_uint8(values[col:col + 101, row:row + 101].T[None])[0]
        assert np.array_equal(dataset.image(tile_id), expected)
    settings = json.loads((tmp_path / "tiles" / "segy_manifest.json").read_text())
    assert settings["scaling"]["method"] == "file" and settings["overlap"] == 20
    assert manifest.tile_at(0, 5, 5) == dataset.ids[0] or manifest.place(manifest.tile_at(0, 5, 5))[1:] == (0, 0)
    assert manifest.place(manifest.tile_at(0, 209, 329))[1:] == (109, 229)
    assert manifest.tile_at(3, 5, 5) is None
    assert dataset.depths[dataset.index(manifest.tile_at(0, 0, 0))] == pytest.approx(50 * 4.0)
    with pytest.raises(SaltviewerError, match="tiles: is not an empty folder"):
        cut_tiles(tmp_path / "line.sgy", tmp_path / "tiles")


def test_volume_sections_are_cut_by_number(tmp_path):
    make_volume(tmp_path / "cube.sgy", shape=(4, 150, 120))
    manifest = cut_tiles(tmp_path / "cube.sgy", tmp_path / "tiles", sections=[11, 13])
    assert sorted(set(manifest.sections.tolist())) == [1, 3]
    make_volume(tmp_path / "wide.sgy", shape=(105, 5, 110))
    every = cut_tiles(tmp_path / "wide.sgy", tmp_path / "every", direction="crossline", every=2)
    assert sorted(set(every.sections.tolist())) == [0, 2, 4] and every.settings["direction"] == "crossline"
    with pytest.raises(SaltviewerError, match=r"cube.sgy: sections are 120 samples x 4 traces; tiles need"):
        cut_tiles(tmp_path / "cube.sgy", tmp_path / "narrow", direction="crossline")
    with pytest.raises(SaltviewerError, match=r"--sections: inline 99 is not in cube.sgy \(inlines 10..13\)"):
        cut_tiles(tmp_path / "cube.sgy", tmp_path / "bad", sections=[99])


def test_decided_masks_go_back_onto_the_section(tmp_path, workspace):
    from saltviewer import CurationStore
    from saltviewer.store import Proposal

    make_volume(tmp_path / "cube.sgy", shape=(3, 202, 120))
    manifest = cut_tiles(tmp_path / "cube.sgy", tmp_path / "tiles", sections=[11])
    dataset = open_dataset(tmp_path / "tiles")
    first, second = manifest.ids[0], manifest.ids[-1]
    salt = np.zeros((101, 101), bool)
    salt[60:, :30] = True
    with CurationStore(workspace.store_path) as store:
        store.propose(dataset, [Proposal(tile=first, mask=salt, criterion="test", reason="test"),
                                Proposal(tile=second, mask=salt, criterion="test", reason="test")])
        store.accept(dataset, first)
    values, counts = section_masks(tmp_path / "tiles", workspace)
    assert values.shape == (3, 202, 120)
    assert counts == {"label": 0, "review": 1, "ensemble": 0, "undecided": len(manifest) - 1}
    _, row, col = manifest.place(first)
    placed = values[1, col:col + 101, row:row + 101].T
    assert np.array_equal(placed == 1, salt) and (placed >= 0).all()
    assert (values[0] == -1).all() and (values[2] == -1).all()
    _, row2, col2 = manifest.place(second)
    assert (values[1, col2 + 30:col2 + 101, row2:row2 + 101] == -1).all()


# ------------------------------------------------------------------ command line
def test_cli_errors_are_one_line_naming_the_file(tmp_path, capsys, workspace):
    from saltviewer.cli import main

    make_line(tmp_path / "line.sgy")
    (tmp_path / "notes.sgy").write_text("not seismic at all " * 300)
    out = ["-w", str(workspace.path), "--out", str(tmp_path / "o.sgy")]
    line = str(tmp_path / "line.sgy")
    cases = [      # (argv, exit status: 1 bad data, 2 bad arguments, message)
        (["segy", "predict", str(tmp_path / "missing.sgy"), *out], 1, "missing.sgy: no such file."),
        (["segy", "predict", str(tmp_path / "notes.sgy"), *out], 1, "notes.sgy: is not a SEG-Y file"),
        (["segy", "predict", line, "-w", str(workspace.path), "--out", line], 2, "is the input file"),
        (["segy", "predict", line, "-w", str(workspace.path), "--out", str(tmp_path / "o.npy")],
         2, "must end in .sgy or .segy"),
        (["segy", "predict", line, *out, "--overlap", "120"],
         2, "--overlap must be a whole number of pixels from 0 to 100; got 120"),
        (["segy", "predict", line, *out], 1, "workspace"),
        (["segy", "tiles", line, str(tmp_path)], 1, "is not an empty folder"),
        (["segy", "assemble", str(workspace.path), "--out", str(tmp_path / "m.sgy")], 1, "has no segy_manifest.json"),
    ]
    for argv, status, message in cases:
        assert main(argv) == status, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("saltviewer segy: error: ") and message in err, err
    assert not (tmp_path / "o.sgy").exists()
    with pytest.raises(SystemExit) as raised:
        main(["segy"])
    assert raised.value.code == 2


def test_cli_tiles_and_assemble_round_trip(tmp_path, capsys, workspace):
    from saltviewer.cli import main

    make_line(tmp_path / "line.sgy", traces=220, samples=150)
    assert main(["segy", "tiles", str(tmp_path / "line.sgy"), str(tmp_path / "tiles")]) == 0
    assert "6 tiles from 1 section" in capsys.readouterr().out
    assert main(["segy", "assemble", str(tmp_path / "tiles"), "-w", str(workspace.path), "--out",
                 str(tmp_path / "masks.sgy")]) == 0
    assert "masks of 0 of 6 tiles" in capsys.readouterr().out
    masks = open_segy(tmp_path / "masks.sgy")
    assert masks.shape == (220, 150) and (masks.read() == -1).all()
    assert np.array_equal(np.load(tmp_path / "masks.npy"), masks.read())
