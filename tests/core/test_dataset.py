import shutil

import numpy as np
import pytest
from PIL import Image

from saltviewer import DataError, Workspace, check_dataset, open_dataset, read_image, read_mask
from saltviewer.cache import pack_tiles


@pytest.fixture
def data(sample_dir, tmp_path):
    """A private copy of the sample, free to damage."""
    return shutil.copytree(sample_dir, tmp_path / "data")


def _ids(folder):
    return sorted(p.stem for p in folder.glob("*.png"))


def test_open_sample_gives_ids_splits_depths_and_masks(sample_dataset, sample_dir):
    ds = sample_dataset
    train_ids = _ids(sample_dir / "train" / "images")
    test_ids = _ids(sample_dir / "test" / "images")
    assert ds.ids == tuple(train_ids + test_ids)
    assert list(ds.split) == ["train"] * 60 + ["test"] * 20
    assert ds.has_mask.sum() == 60 and not ds.has_mask[60:].any()
    assert np.isfinite(ds.depths).all()
    image = ds.image(0)
    assert image.shape == (101, 101) and image.dtype == np.uint8
    mask = ds.mask(ds.ids[0])
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, read_mask(sample_dir / "train" / "masks" / f"{ds.ids[0]}.png"))
    assert ds.mask(70) is None
    assert ds.images([3, 1]).shape == (2, 101, 101)
    np.testing.assert_array_equal(ds.images([3, 1])[1], ds.image(1))


def test_train_csv_alone_provides_masks(data):
    masks_before = {p.stem: read_mask(p) for p in (data / "train" / "masks").glob("*.png")}
    shutil.rmtree(data / "train" / "masks")
    ds = open_dataset(data)
    assert ds.has_mask.sum() == 60
    for tile_id, mask in list(masks_before.items())[:10]:
        np.testing.assert_array_equal(ds.mask(tile_id), mask)


def test_folder_of_images_alone_is_an_unlabelled_pool(sample_dir, tmp_path):
    pool = tmp_path / "pool"
    shutil.copytree(sample_dir / "test" / "images", pool)
    ds = open_dataset(pool)
    assert len(ds) == 20 and set(ds.split) == {"test"} and not ds.has_mask.any()
    assert np.isnan(ds.depths).all()


def test_only_test_images_and_depths(sample_dir, tmp_path):
    root = tmp_path / "d"
    shutil.copytree(sample_dir / "test", root / "test")
    shutil.copy(sample_dir / "depths.csv", root / "depths.csv")
    ds = open_dataset(root)
    assert len(ds) == 20 and np.isfinite(ds.depths).all()


def test_rgb_with_equal_channels_reads_as_one_channel(tmp_path):
    gray = np.random.default_rng(0).integers(0, 256, (101, 101), dtype=np.uint8)
    Image.fromarray(np.dstack([gray] * 3)).save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), gray)


def test_sixteen_bit_masks_are_accepted(tmp_path):
    mask = np.zeros((101, 101), np.uint16)
    mask[:, 50:] = 65535
    Image.fromarray(mask).save(tmp_path / "m.png")
    assert read_mask(tmp_path / "m.png").sum() == 101 * 51


# Each planted problem: (how to plant it, words the message must hold, the file it must name).
def _truncate(path):
    path.write_bytes(path.read_bytes()[:200])


def _not_png(path):
    path.write_bytes(b"GIF89a" + b"\0" * 100)


def _wrong_size(path):
    Image.fromarray(np.zeros((128, 128), np.uint8)).save(path)


def _unequal_channels(path):
    rgb = np.zeros((101, 101, 3), np.uint8)
    rgb[..., 0] = 10
    Image.fromarray(rgb).save(path)


def _bad_mask_values(path):
    Image.fromarray(np.full((101, 101), 128, np.uint8)).save(path)


def test_check_names_each_planted_problem(data):
    train_images = sorted((data / "train" / "images").glob("*.png"))
    test_images = sorted((data / "test" / "images").glob("*.png"))
    masks = sorted((data / "train" / "masks").glob("*.png"))
    planted = {
        train_images[0]: (_truncate, "truncated"),
        train_images[1]: (_not_png, "not a PNG"),
        test_images[0]: (_wrong_size, "128x128"),
        test_images[1]: (_unequal_channels, "unequal channels"),
        masks[5]: (_bad_mask_values, "values 128"),
    }
    for path, (plant, _) in planted.items():
        plant(path)
    orphan = data / "train" / "masks" / "0000orphan.png"
    shutil.copy(masks[6], orphan)
    duplicate = data / "test" / "images" / f"{train_images[2].stem}.png"
    shutil.copy(train_images[2], duplicate)
    with open(data / "train.csv", "a") as handle:
        handle.write("../escape,1 5\n")
        handle.write("zz-new,1 2 3\n")
        handle.write(f"{masks[7].stem},1 2\n")
        handle.write("onlyonefield\n")
    with open(data / "depths.csv", "a") as handle:
        handle.write(f"{train_images[3].stem},deep\n")

    problems = check_dataset(data)
    text = "\n".join(problems)
    for path, (_, words) in planted.items():
        assert any(str(path) in p and words in p for p in problems), (path, words, text)
    assert any(str(orphan) in p and "no image" in p for p in problems)
    assert any(str(duplicate) in p and "duplicate id" in p for p in problems)
    assert any("train.csv line" in p and "'../escape'" in p and "escape the folder" in p for p in problems)
    assert any("train.csv line" in p and "odd count" in p for p in problems)
    assert any("train.csv line" in p and "1 fields" in p for p in problems)
    assert any("depths.csv line" in p and "finite number" in p for p in problems)
    assert any("duplicate id" in p and "train.csv" in p for p in problems)   # masks[7] listed twice
    # open_dataset refuses the folder with the first problem and a pointer to `check`
    with pytest.raises(DataError, match="saltviewer check"):
        open_dataset(data)


def test_tile_problems_surface_when_the_tile_loads(data):
    path = sorted((data / "train" / "images").glob("*.png"))[0]
    _truncate(path)
    ds = open_dataset(data)          # structure is fine, so it opens
    with pytest.raises(DataError, match=str(path)):
        ds.image(path.stem)


def test_disagreeing_train_csv_and_mask_png_is_reported(data):
    mask_path = sorted((data / "train" / "masks").glob("*.png"))[0]
    flipped = ~read_mask(mask_path)   # differs from the CSV's mask in every pixel, whatever the tile
    Image.fromarray(np.where(flipped, 255, 0).astype(np.uint8)).save(mask_path)
    problems = check_dataset(data)
    assert any("differs from" in p and mask_path.stem in p for p in problems)


def test_bad_headers_and_missing_folder():
    with pytest.raises(DataError, match="no such folder"):
        open_dataset("/nonexistent/folder")


def test_bad_train_csv_header(data):
    (data / "train.csv").write_text("image,mask\n")
    with pytest.raises(DataError, match="expected the header 'id,rle_mask'"):
        open_dataset(data)


def test_empty_folder_holds_no_tiles(tmp_path):
    with pytest.raises(DataError, match="holds no tiles"):
        open_dataset(tmp_path)


def test_real_data_has_no_problems(tgs_dir):
    ds = open_dataset(tgs_dir)
    assert len(ds) == 21200 and ds.has_mask.sum() == 3200
    assert np.isfinite(ds.depths).all()


def test_packed_cache_is_a_slice_and_rebuilds_when_the_folder_changes(data, tmp_path):
    ws = Workspace(tmp_path / "ws")
    ds = open_dataset(data).use_cache(ws)
    reference = open_dataset(data)
    for i in (0, 5, 65):
        np.testing.assert_array_equal(ds.image(i), reference.image(i))
        if reference.has_mask[i]:
            np.testing.assert_array_equal(ds.mask(i), reference.mask(i))
    packed = pack_tiles(ds, ws)
    assert isinstance(packed.images, np.memmap)
    first_pack = (packed.path / "images.npy").stat().st_mtime_ns
    assert (pack_tiles(open_dataset(data), ws).path / "images.npy").stat().st_mtime_ns == first_pack  # reused

    # rewrite one tile: the fingerprint changes and the pack is rebuilt with the new pixels
    path = data / "train" / "images" / f"{ds.ids[0]}.png"
    Image.fromarray(np.full((101, 101), 7, np.uint8)).save(path)
    changed = open_dataset(data)
    assert changed.fingerprint != ds.fingerprint and changed.key == ds.key
    changed.use_cache(ws)
    assert (changed.image(0) == 7).all()
