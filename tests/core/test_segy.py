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
    out = write_segy_like(data, tmp_path / "twice.sgy", values * 2, chunk_bytes=30_000)    # back in file order
    assert np.array_equal(open_segy(out).read(), values * 2)


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
    with pytest.raises(SaltviewerError, match=r"cube.sgy: traces 5 and 7 share a place, inline 11 and crossline 100 "
                                              r"\(trace header bytes 189 and 193\); a volume holds each place once "
                                              r"\(15 traces at 14 places\)"):
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


def write_traces(path, values, inlines, crosslines, fmt=5, interval=4000):
    """A SEG-Y file of these traces in this order, each with its inline and crossline number."""
    values = np.asarray(values, np.float32)
    spec = segyio.spec()
    spec.format, spec.samples, spec.tracecount = fmt, np.arange(values.shape[1]) * interval / 1000, len(values)
    with segyio.create(str(path), spec) as f:
        for t, (il, xl) in enumerate(zip(inlines, crosslines)):
            f.header[t] = {segyio.TraceField.INLINE_3D: int(il), segyio.TraceField.CROSSLINE_3D: int(xl),
                           segyio.TraceField.CDP: t + 1, segyio.TraceField.TRACE_SAMPLE_COUNT: values.shape[1],
                           segyio.TraceField.TRACE_SAMPLE_INTERVAL: interval}
            f.trace[t] = values[t]
        f.bin.update({segyio.BinField.Samples: values.shape[1], segyio.BinField.Format: fmt,
                      segyio.BinField.Interval: interval})


@pytest.mark.parametrize("steps", ["diagonal", "slanted", "crooked"])
def test_a_line_whose_inline_and_crossline_numbers_both_change_is_a_sequence_of_traces(tmp_path, steps):
    n = 240
    k = np.arange(n)
    if steps == "diagonal":
        inlines, crosslines = 500 + k, 900 - k
    elif steps == "slanted":                       # 30 degrees off the crosslines: inlines change every 2nd trace
        inlines, crosslines = 500 + k // 2, 100 + k
    else:                                          # runs along the crosslines, turns, runs along the inlines
        inlines = np.where(k < 120, 40, 40 + k - 119)
        crosslines = np.where(k < 120, 300 + k, 419)
    values = np.random.default_rng(6).standard_normal((n, 130)).astype(np.float32)
    write_traces(tmp_path / "line.sgy", values, inlines, crosslines)
    data = open_segy(tmp_path / "line.sgy")
    assert data.kind == "line" and data.shape == (n, 130)
    assert np.array_equal(data.traces(), values) and list(data.crosslines) == list(range(1, n + 1))     # CDPs
    manifest = cut_tiles(tmp_path / "line.sgy", tmp_path / "tiles")
    assert len(manifest) == len(tile_grid((130, n))[0])
    out = write_segy_like(data, tmp_path / "out.sgy", values * 2)
    assert np.array_equal(open_segy(out).traces(), values * 2)


def test_a_non_rectangular_survey_is_filled_and_marked_never_invented(tmp_path):
    n_il, n_xl, ns = 5, 210, 110
    grid = np.random.default_rng(7).standard_normal((n_il, n_xl, ns)).astype(np.float32)
    present = np.ones((n_il, n_xl), bool)
    present[0, :60] = False                                # a corner cut off the outline
    present[3, 100:104] = False                            # a hole
    present[4, 150:] = False
    il, xl = np.nonzero(present)                           # inline-sorted, crosslines ascending
    write_traces(tmp_path / "survey.sgy", grid[il, xl], 20 + il, 300 + xl)
    data = open_segy(tmp_path / "survey.sgy")
    assert data.kind == "volume" and data.shape == (n_il, n_xl, ns) and data.sorting == "inline"
    assert np.array_equal(data.present, present) and data.n_missing == int((~present).sum()) == 124
    assert "124 of 1050 places without a trace" in data.describe()
    read = data.read()
    assert np.array_equal(read[present], grid[present]) and (read[~present] == 0).all()
    assert np.array_equal(data.array[1:4, 95:110], read[1:4, 95:110])
    reference = predict_volume(data, sigmoid_of_tiles, 20, engine="memory")
    assert np.isnan(reference[~present]).all() and not np.isnan(reference[present]).any()
    for direction in ("inline", "crossline") if min(data.section_shape("crossline")) >= 101 else ("inline",):
        blocks = predict_volume(data, sigmoid_of_tiles, 20, direction=direction, chunks=(2, 101))
        memory = predict_volume(data, sigmoid_of_tiles, 20, direction=direction, engine="memory")
        assert np.array_equal(blocks, memory, equal_nan=True)
    from saltviewer.seismic import output_chunks, volume_output

    with volume_output(tmp_path / "salt.zarr", data.shape, output_chunks(data.shape, chunks=(2, 101))) as target:
        predict_volume(data, sigmoid_of_tiles, 20, chunks=(2, 101), target=target, num_workers=3)
        out = write_segy_like(data, tmp_path / "salt.sgy", target)
    written = open_segy(out)
    assert written.n_traces == data.n_traces == int(present.sum())          # the input's traces, none invented
    assert np.array_equal(written.read()[present], reference[present])
    manifest = cut_tiles(tmp_path / "survey.sgy", tmp_path / "tiles")
    assert manifest.settings["missing_traces"] == 124
    assert manifest.settings["tiles_left_out_without_traces"] == 0     # every tile touches a trace here


def test_a_full_grid_in_any_order_reads_by_ascending_numbers(tmp_path):
    n_il, n_xl = 3, 4
    grid = np.random.default_rng(8).standard_normal((n_il, n_xl, 20)).astype(np.float32)
    il, xl = np.meshgrid(np.arange(n_il)[::-1], np.arange(n_xl), indexing="ij")   # inlines decreasing in the file
    il, xl = il.reshape(-1), xl.reshape(-1)
    write_traces(tmp_path / "dec.sgy", grid[il, xl], 10 + il, 50 + xl)
    data = open_segy(tmp_path / "dec.sgy")
    assert list(data.inlines) == [10, 11, 12] and np.array_equal(data.read(), grid) and data.n_missing == 0
    values = grid * 3
    write_segy_like(data, tmp_path / "out.sgy", values)
    with segyio.open(str(tmp_path / "out.sgy"), ignore_geometry=True) as f:
        assert np.array_equal(f.trace.raw[:], values[il, xl])            # each trace where it came from


def _rev2(raw, endian=">", **fields):
    """Bytes of a SEG-Y file with rev 2 binary header fields set (byte offsets from the file's start)."""
    raw = bytearray(raw)
    raw[3500] = 2
    for offset, (value, kind) in fields.items():
        at = int(offset[1:]) - 1
        raw[at:at + np.dtype(kind).itemsize] = np.array([value], endian + kind).tobytes()
    return bytes(raw)


def test_rev2_files_that_segyio_reads_open_and_the_others_name_their_cause(tmp_path):
    values = make_line(tmp_path / "line.sgy", traces=120, samples=110)
    raw = (tmp_path / "line.sgy").read_bytes()
    cases = {   # name: (bytes, None when it opens, else the cause named)
        "extended_samples": (_rev2(raw, b3221=(0, "u2"), b3269=(110, "i4")), None),
        "both_counts": (_rev2(raw, b3221=(7, "u2"), b3269=(110, "i4"), b3503=(1, "i2")), None),
        "known_first_trace": (_rev2(raw, b3521=(3600, "u8"), b3503=(1, "i2")), None),
        "trailers": (_rev2(raw, b3529=(1, "i4"), b3503=(1, "i2")) + b" " * 3200,
                     r"SEG-Y rev 2 file with 1 data trailer stanza\(s\) after the traces"),
        "extra_headers": (_rev2(raw, b3507=(1, "i4"), b3503=(1, "i2")),
                          r"SEG-Y rev 2 file with 1 additional 240-byte trace header\(s\) per trace"),
        "variable_text": (_rev2(raw, b3505=(-1, "i2"), b3503=(1, "i2")),
                          r"SEG-Y rev 2 file with a variable number of extended textual headers"),
        "varying_traces": (_rev2(raw[:-60], b3503=(0, "i2")),
                           r".* it is a SEG-Y rev 2 file whose fixed-length flag \(bytes 3503-3504\) is 0: its "
                           r"traces may differ in length"),
    }
    for name, (content, cause) in cases.items():
        path = tmp_path / f"{name}.sgy"
        path.write_bytes(content)
        if cause is None:
            data = open_segy(path)
            with segyio.open(str(path), ignore_geometry=True) as f:
                assert len(f.samples) == 110
                assert np.array_equal(data.traces(), f.trace.raw[:]) and np.array_equal(data.traces(), values)
        else:
            with pytest.raises(SaltviewerError, match=rf"{name}.sgy: {cause}") as raised:
                open_segy(path)
            assert len(str(raised.value).splitlines()) == 1
    little = tmp_path / "little.sgy"
    segyio.tools.from_array(str(little), values, format=5)
    with segyio.open(str(little), ignore_geometry=True) as f:            # the same file, little-endian rev 2
        text, binary, traces = bytes(f.text[0]), f.bin, np.asarray(f.trace.raw[:])
    spec = segyio.spec()
    spec.format, spec.samples, spec.tracecount, spec.endian = 5, np.arange(110), 120, "little"
    with segyio.create(str(little), spec) as f:
        f.text[0] = text
        f.bin.update(binary)
        f.bin.update({segyio.BinField.SEGYRevision: 2, segyio.BinField.TraceFlag: 1})
        for t in range(120):
            f.header[t] = {segyio.TraceField.TRACE_SAMPLE_COUNT: 110}
            f.trace[t] = traces[t]
    raw = bytearray(little.read_bytes())
    raw[3296:3300] = np.array([0x01020304], "<u4").tobytes()      # the rev 2 byte-order constant
    little.write_bytes(bytes(raw))
    data = open_segy(little)
    assert data.endian == "<" and np.array_equal(data.traces(), values)


@pytest.mark.parametrize("traces,samples", [(1, 1), (18, 75), (64, 780), (780, 64)])
def test_sizes_below_a_tile_are_refused_in_one_line_by_every_verb(tmp_path, capsys, workspace, traces, samples):
    from saltviewer.cli import main

    path = tmp_path / "small.sgy"
    make_line(path, traces=traces, samples=samples)
    expected = f"small.sgy: the line is {samples} samples x {traces} traces; tiles need at least 101 x 101."
    for argv in (["segy", "tiles", str(path), str(tmp_path / "tiles")],
                 ["segy", "predict", str(path), "-w", str(workspace.path), "--out", str(tmp_path / "salt.sgy")]):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.endswith(expected), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.sgy", "ws"] or \
        sorted(p.name for p in tmp_path.iterdir()) == ["small.sgy"]


def test_volume_sections_below_a_tile_name_the_direction(tmp_path):
    from saltviewer.seismic import check_tileable

    make_volume(tmp_path / "cube.sgy", shape=(4, 150, 120))
    data = open_segy(tmp_path / "cube.sgy")
    check_tileable(data, "inline")
    with pytest.raises(SaltviewerError, match=r"cube.sgy: its crossline sections are 120 samples x 4 traces \(its "
                                              r"inline sections, --direction inline, are 150 traces wide\); tiles "
                                              r"need at least 101 x 101.$"):
        check_tileable(data, "crossline")
    make_volume(tmp_path / "tiny.sgy", shape=(3, 4, 120))
    with pytest.raises(SaltviewerError, match=r"tiny.sgy: its inline sections are 120 samples x 4 traces; tiles "
                                              r"need at least 101 x 101.$"):
        check_tileable(open_segy(tmp_path / "tiny.sgy"), "inline")


def test_write_errors_name_the_output_not_a_temporary_or_the_input(tmp_path, capsys, workspace):
    from saltviewer.cli import main

    make_line(tmp_path / "line.sgy", traces=120, samples=110)
    (tmp_path / "afile").write_text("a file, not a folder")
    blocked = tmp_path / "afile" / "out"
    data = open_segy(tmp_path / "line.sgy")
    with pytest.raises(SaltviewerError) as raised:
        write_segy_like(data, blocked / "salt.sgy", np.zeros(data.shape, np.float32))
    assert str(raised.value).startswith(f"{blocked / 'salt.sgy'}: cannot be written (")
    assert main(["segy", "tiles", str(tmp_path / "line.sgy"), str(blocked / "tiles")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"error: {blocked / 'tiles'}: cannot be written (" in err, err
    assert ".tiles." not in err and "line.sgy" not in err


def test_the_textual_header_says_what_the_samples_now_mean(tmp_path):
    from saltviewer.seismic.write import stamp_text

    make_line(tmp_path / "line.sgy", traces=120, samples=110)
    data = open_segy(tmp_path / "line.sgy")
    head_in = (tmp_path / "line.sgy").read_bytes()[:3200]
    lines = ["SALTVIEWER: SAMPLES ARE SALT PROBABILITY 0..1", "(NOT AMPLITUDES)"]
    out = write_segy_like(data, tmp_path / "salt.sgy", np.zeros(data.shape, np.float32), meaning=lines)
    with segyio.open(str(out), ignore_geometry=True) as f:
        text = segyio.tools.wrap(f.text[0]).splitlines()
    assert text[37].rstrip() == "C38 SALTVIEWER: SAMPLES ARE SALT PROBABILITY 0..1"
    assert text[38].rstrip() == "C39 (NOT AMPLITUDES)"
    head_out = out.read_bytes()[:3200]
    assert head_out[:37 * 80] == head_in[:37 * 80] and head_out[39 * 80:] == head_in[39 * 80:]   # the rest kept
    ascii_head = "".join(f"C{k + 1:2d} {'HISTORY' if k < 38 else ''}".ljust(80) for k in range(40)).encode()
    stamped = stamp_text(ascii_head, ["MASK"]).decode("ascii")
    assert stamped[38 * 80:39 * 80].rstrip() == "C39 MASK" and stamped[:38 * 80] == ascii_head[:38 * 80].decode()


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


# ------------------------------------------------------------------ quiet zones
def quiet_reference(image, level, window, min_flat):
    """Quiet zones, one trace and one sample at a time (the slow, obvious form of Mute.zones)."""
    height, width = image.shape
    quiet = np.zeros(image.shape, bool)
    half = window // 2
    for x in range(width):
        column = image[:, x]
        flat = np.zeros(height, bool)
        t = 0
        while t < height:
            u = t
            while u + 1 < height and column[u + 1] == column[t]:
                u += 1
            if u - t + 1 >= min_flat:
                flat[t:u + 1] = True
            t = u + 1
        signal = [not flat[t] and np.abs(column[max(0, t - half):t + window - half]).max() > level
                  for t in range(height)]
        if not any(signal):
            quiet[:, x] = True
            continue
        first, last = signal.index(True), height - 1 - signal[::-1].index(True)
        quiet[:first, x] = quiet[last + 1:, x] = True
        quiet[:, x] |= flat
    return quiet


def water_section(rng, water=150, height=400, width=260, dead=(40, 41, 200)):
    """Sediment amplitudes under a water column of weak noise, dead traces, a flat filler block and
    a dim (quiet but not flat) body inside the data."""
    image = rng.standard_normal((height, width)).astype(np.float32)
    image[:water] *= 0.01
    image[water + 100:water + 160, 60:120] *= 0.02           # dim, like a salt body's interior: not a quiet zone
    image[water + 180:water + 230, 150:230] = 0.0            # filler
    image[:, list(dead)] = 0.0
    return image


def test_quiet_zones_are_the_water_mutes_dead_traces_and_flat_runs():
    from saltviewer.seismic.quiet import Mute

    rng = np.random.default_rng(11)
    image = water_section(rng)
    image[-30:, 100:] = 0.0                                   # a bottom mute
    mute = Mute(level=0.2, window=9, min_flat=16)
    quiet = mute.zones(image)
    assert np.array_equal(quiet, quiet_reference(image, 0.2, 9, 16))
    assert quiet[:150 - 4].all() and quiet[:, [40, 41, 200]].all()     # to within half a window of the sea floor
    assert quiet[330:380, 150:230].all() and quiet[-30:, 100:].all()
    assert not quiet[250:310, 60:120].any()                   # the dim body is data
    share = 1 - quiet[150:].mean()
    assert 0.85 < share < 0.95
    summary = mute.summary(image)
    assert summary["dead_traces"] == 3 and 146 <= summary["median_top_samples"] <= 150
    assert summary["quiet_share"] == round(float(quiet.mean()), 4)
    for trial in range(20):                                   # random small cases against the reference
        small = rng.integers(-2, 3, (rng.integers(1, 40), rng.integers(1, 6))).astype(np.float32)
        small[:rng.integers(0, len(small) + 1)] *= 0
        assert np.array_equal(Mute(level=0.5, window=3, min_flat=4).zones(small),
                              quiet_reference(small, 0.5, 3, 4)), trial


def test_the_model_sees_a_tiles_own_data_mirrored_into_its_quiet_parts():
    from saltviewer.seismic.quiet import Mute

    rng = np.random.default_rng(13)
    tile = rng.standard_normal((101, 101)).astype(np.float32)
    quiet = np.zeros(tile.shape, bool)
    quiet[:30] = True                                  # water on top
    quiet[60:70, 40:50] = True                         # a flat patch inside
    quiet[:, 90:] = True                               # dead traces at the right
    filled = Mute(level=0.1).fill(tile[None], quiet[None])[0]
    assert np.array_equal(filled[30:60, :90], tile[30:60, :90])             # data untouched
    assert np.array_equal(filled[:30, 5], tile[30:60, 5][::-1])            # mirrored about the sea floor
    assert np.array_equal(filled[60:65, 45], tile[55:60, 45][::-1])        # upper half from above
    assert np.array_equal(filled[65:70, 45], tile[70:75, 45][::-1])        # lower half from below
    assert np.array_equal(filled[:, 90], filled[:, 89]) and np.array_equal(filled[:, 91], filled[:, 88])
    assert not (_longest_constant_run(filled) >= 16)
    assert np.array_equal(Mute(level=0.1).fill(tile[None], np.ones((1, 101, 101), bool))[0], tile)


def _longest_constant_run(image):
    longest = 1
    for column in image.T:
        run = 1
        for a, b in zip(column[:-1], column[1:]):
            run = run + 1 if a == b else 1
            longest = max(longest, run)
    return longest


def test_no_salt_in_quiet_zones_and_quiet_tiles_give_way_in_the_blend():
    from saltviewer.seismic.quiet import Mute

    image = water_section(np.random.default_rng(12))
    mute = Mute(level=0.2)
    quiet = mute.zones(image)

    def quiet_is_salt(tiles, rows):             # what the TGS model does: flat and quiet tiles are salt
        share = np.array([(np.abs(t) < 0.2).mean() for t in tiles], np.float32)
        return np.broadcast_to(share[:, None, None], tiles.shape).astype(np.float32)

    plain = predict_section(image, quiet_is_salt, 50)
    muted = predict_section(image, quiet_is_salt, 50, mute=mute)
    assert (plain[quiet] > 0.5).mean() > 0.5 and (muted[quiet] == 0).all()
    assert np.array_equal(muted[~quiet] > 0, np.ones(int((~quiet).sum()), bool))
    below = slice(151, 200)                     # just under the water: tiles of data outweigh tiles of water
    assert muted[below, 60:200].mean() < plain[below, 60:200].mean() - 0.02
    one = lambda tiles, rows: np.ones(tiles.shape, np.float32)             # noqa: E731
    assert np.array_equal(predict_section(image, one, 30, mute=mute), (~quiet).astype(np.float32))
    half = image[:, 90:260]                    # a part with its halo gives the same as the whole
    whole = predict_section(image, quiet_is_salt, 30, mute=mute)
    part = predict_section(half, quiet_is_salt, 30, origin=90, full_width=260, region=(190, 230), mute=mute)
    assert np.array_equal(part, whole[:, 190:230])


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
    with pytest.raises(SaltviewerError, match=r"cube.sgy: its crossline sections are 120 samples x 4 traces"):
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
