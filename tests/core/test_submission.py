import numpy as np
import pytest

from saltviewer import DataError, read_submission, score_submission, write_submission


def test_write_then_read_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    masks = rng.random((5, 101, 101)) < 0.3
    masks[0] = False
    ids = [f"id{i}" for i in range(5)]
    write_submission(tmp_path / "s.csv", ids, masks)
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "id,rle_mask" and lines[1] == "id0,"
    rles = read_submission(tmp_path / "s.csv")
    assert list(rles) == ids


@pytest.mark.parametrize("body, words", [
    ("id,mask\n", "expected the header 'id,rle_mask'"),
    ("id,rle_mask\na,1 2\na,3 4\n", "line 3: duplicate id 'a', first on line 2"),
    ("id,rle_mask\na,1 2 3\n", "line 2: run-length mask needs start/length pairs"),
    ("id,rle_mask\na\n", "line 2: has 1 fields"),
    ("id,rle_mask\n../a,1 2\n", "escape the folder"),
    ("", "is empty"),
])
def test_bad_rows_name_the_file_and_line(tmp_path, body, words):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(DataError) as info:
        read_submission(path)
    assert words in str(info.value) and str(path) in str(info.value)


def test_score_counts_missing_and_extra_ids(tmp_path):
    truth = {"a": np.zeros((101, 101), bool), "b": np.ones((101, 101), bool), "c": np.ones((101, 101), bool)}
    write_submission(tmp_path / "s.csv", ["a", "b", "zz"], [truth["a"], truth["b"], truth["a"]])
    report = score_submission(tmp_path / "s.csv", truth)
    assert report.n_missing == 1 and report.n_extra == 1 and report.n_scored == 3
    assert report.score == pytest.approx(2 / 3)   # c is missing: an empty prediction of salt scores 0


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,rle_mask\nkeep,\n")
    with pytest.raises(Exception):
        write_submission(path, ["a", "b"], [np.zeros((101, 101), bool), np.zeros((50, 50), bool)])
    assert path.read_text() == "id,rle_mask\nkeep,\n"
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]
