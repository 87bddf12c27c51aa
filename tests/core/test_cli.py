"""The command line as a user runs it: a real subprocess per call."""

import shutil
import subprocess
import sys

import pytest


def saltviewer(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "saltviewer", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_lists_the_verbs():
    result = saltviewer("--help")
    assert result.returncode == 0
    for verb in ("sample", "score", "check", "encode", "decode"):
        assert verb in result.stdout


def test_sample_check_encode_score_round_trip(tmp_path):
    data = tmp_path / "data"
    result = saltviewer("sample", data, "--n-train", 30, "--n-test", 10, "--seed", 2)
    assert result.returncode == 0, result.stderr
    result = saltviewer("check", data)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems; 40 tiles (30 train, 10 test)" in result.stdout
    result = saltviewer("encode", data / "train" / "masks", "--out", tmp_path / "sub.csv")
    assert result.returncode == 0, result.stderr
    result = saltviewer("score", tmp_path / "sub.csv", "--truth", data / "train.csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "score: 1.0000"
    result = saltviewer("decode", tmp_path / "sub.csv", "--out", tmp_path / "masks")
    assert result.returncode == 0, result.stderr
    result = saltviewer("score", tmp_path / "sub.csv", "--truth", tmp_path / "masks")
    assert result.stdout.strip().splitlines()[-1] == "score: 1.0000"


def test_score_reports_missing_ids(tmp_path, sample_dir):
    lines = (sample_dir / "train.csv").read_text().splitlines()
    kept = [lines[0]] + lines[1:-5]
    (tmp_path / "partial.csv").write_text("\n".join(kept) + "\n")
    result = saltviewer("score", tmp_path / "partial.csv", "--truth", sample_dir)
    assert "missing from the submission (scored as empty): 5" in result.stdout
    score = float(result.stdout.strip().splitlines()[-1].split(": ")[1])
    assert score < 1.0


def test_check_lists_problems_and_exits_non_zero(tmp_path, sample_dir):
    data = shutil.copytree(sample_dir, tmp_path / "data")
    bad = sorted((data / "test" / "images").glob("*.png"))[0]
    bad.write_bytes(b"not a png at all")
    result = saltviewer("check", data)
    assert result.returncode == 1
    assert f"{bad}: is not a PNG file" in result.stdout
    assert "1 problem in" in result.stdout


@pytest.mark.parametrize("args, words", [
    (["score", "missing.csv", "--truth", "nowhere"], "missing.csv: cannot be read"),
    (["check", "nowhere"], "nowhere: no such folder"),
    (["sample", "OUT", "--n-train", "-1"], "--n-train and --n-test must be non-negative"),
])
def test_bad_input_is_one_clear_line_not_a_traceback(tmp_path, args, words):
    result = saltviewer(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
