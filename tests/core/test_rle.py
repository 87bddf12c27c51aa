import numpy as np
import pytest

from saltviewer import SaltviewerError, rle_decode, rle_encode

# (mask rows, expected rle) on small shapes: column-major, 1-based.
CASES = [
    ([[0, 0], [0, 0]], ""),
    ([[1, 1], [1, 1]], "1 4"),
    ([[1, 0], [0, 0]], "1 1"),
    ([[0, 0], [0, 1]], "4 1"),
    ([[0, 1], [0, 1]], "3 2"),
    ([[1, 0], [1, 0]], "1 2"),
    ([[1, 1], [0, 0]], "1 1 3 1"),
    ([[0, 0, 1], [1, 0, 0], [1, 0, 0]], "2 2 7 1"),
    ([[0, 1, 0], [0, 1, 0], [1, 0, 0]], "3 3"),  # run crossing a column boundary
]


@pytest.mark.parametrize("rows, expected", CASES)
def test_encode_hand_cases(rows, expected):
    mask = np.array(rows, bool)
    assert rle_encode(mask) == expected
    np.testing.assert_array_equal(rle_decode(expected, mask.shape), mask)


def _reference_encode(mask):
    """Per-pixel loop over the column-major order."""
    pixels = [bool(mask[r, c]) for c in range(mask.shape[1]) for r in range(mask.shape[0])]
    runs, start = [], None
    for k, on in enumerate(pixels + [False]):
        if on and start is None:
            start = k
        elif not on and start is not None:
            runs += [start + 1, k - start]
            start = None
    return " ".join(map(str, runs))


def test_round_trip_and_reference_on_random_masks():
    rng = np.random.default_rng(0)
    for density in (0.0, 0.05, 0.5, 0.95, 1.0):
        for _ in range(20):
            mask = rng.random((101, 101)) < density
            text = rle_encode(mask)
            assert text == _reference_encode(mask)
            np.testing.assert_array_equal(rle_decode(text), mask)


def test_decode_accepts_uint8_zero_one_input_and_whitespace():
    mask = np.zeros((101, 101), np.uint8)
    mask[10:20, 5] = 1
    assert rle_encode(mask) == rle_encode(mask.astype(bool))
    np.testing.assert_array_equal(rle_decode("  " + rle_encode(mask) + "\n"), mask.astype(bool))
    assert not rle_decode("   ").any()


@pytest.mark.parametrize("text, words", [
    ("1 2 3", "odd count"),
    ("0 5", "1-based"),
    ("5 0", "at least 1"),
    ("10200 5", "past the 101x101"),
    ("10 5 12 3", "increasing order"),
    ("20 2 10 2", "increasing order"),
    ("1 x", "non-negative integers"),
    ("-3 2", "non-negative integers"),
])
def test_decode_rejects_bad_strings_with_clear_message(text, words):
    with pytest.raises(SaltviewerError, match=words) as info:
        rle_decode(text, where="train.csv line 9")
    assert "train.csv line 9" in str(info.value)


def test_decode_every_row_of_the_real_train_csv_matches_the_mask_pngs(tgs_dir):
    import csv

    from saltviewer import read_mask

    with open(tgs_dir / "train.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3200
    for row in rows:
        mask = read_mask(tgs_dir / "train" / "masks" / f"{row['id']}.png")
        np.testing.assert_array_equal(rle_decode(row["rle_mask"]), mask, err_msg=row["id"])
        assert rle_encode(mask) == row["rle_mask"]
