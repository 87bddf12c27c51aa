"""The command line as a user runs it: a real subprocess per call."""

import shutil
import subprocess
import sys

import pytest


def saltviewer(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "saltviewer", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def _listed_verbs(help_text):
    """The verb names in ``saltviewer --help``, in the order shown."""
    section = help_text.split("verbs (in the order of the workflow):", 1)[1]
    return [line.split()[0] for line in section.splitlines()
            if line.startswith("    ") and not line.startswith("     ") and line.split()]


def test_help_lists_the_verbs_in_workflow_order():
    from saltviewer.cli import VERBS

    result = saltviewer("--help")
    assert result.returncode == 0
    listed = _listed_verbs(result.stdout)
    known = [verb for verb in VERBS if verb in listed]
    assert listed[:len(known)] == known
    assert known[:6] == ["sample", "check", "explore", "train", "predict", "pseudo-label"]
    assert {"sample", "score", "check", "encode", "decode", "view", "demo"} <= set(listed)


def test_verbs_missing_from_the_order_come_after_it(monkeypatch):
    import saltviewer.cli as cli

    monkeypatch.setattr(cli, "VERBS", ("score", "sample"))
    names = [name for name, _ in cli._verb_modules()]
    assert names[:2] == ["score", "sample"]
    assert names[2:] == sorted(names[2:]) and "check" in names[2:]


def _subparsers():
    import argparse

    from saltviewer.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, action.choices


def test_every_option_has_help_and_no_help_shows_stray_percent_signs():
    import argparse

    parser, verbs = _subparsers()
    texts = {"saltviewer": parser.format_help()}
    todo = list(verbs.items())
    while todo:
        name, sub = todo.pop()
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):     # a verb with its own actions
                todo += [(f"{name} {n}", p) for n, p in action.choices.items()]
                for choice in action._choices_actions:
                    assert choice.help, f"saltviewer {name} {choice.dest} has no help text"
                continue
            what = f"saltviewer {name} {'/'.join(action.option_strings) or action.dest}"
            assert action.help and action.help != argparse.SUPPRESS, f"{what} has no help text"
        texts[name] = sub.format_help()
    for name, text in texts.items():
        assert "%%" not in text and "%(" not in text, f"{name} --help: {text}"


def test_verbose_and_quiet_work_before_and_after_the_verb():
    from saltviewer.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["check", "d"]).verbose == 0
    assert parser.parse_args(["-v", "check", "d"]).verbose == 1
    assert parser.parse_args(["check", "d", "-vv"]).verbose == 2
    assert parser.parse_args(["-q", "check", "d"]).quiet == 1
    assert parser.parse_args(["check", "-q", "d"]).quiet == 1
    _, verbs = _subparsers()
    if "segy" in verbs:                                  # a verb with actions of its own takes them too
        assert parser.parse_args(["segy", "tiles", "a.sgy", "out", "-v"]).verbose == 1


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
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert lines[0].startswith(f"saltviewer {args[0]}: error: ")


def test_verbose_shows_the_traceback_of_an_error(tmp_path):
    result = saltviewer("check", "nowhere", "-v", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr and "no such folder" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "saltviewer check: error: nowhere: no such folder."


def test_usage_errors_keep_exit_status_2(tmp_path):
    result = saltviewer("encode", tmp_path)                      # --out is required
    assert result.returncode == 2 and "required: --out" in result.stderr
    result = saltviewer("no-such-verb")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_view_without_a_workspace_the_first_time_is_a_usage_error(sample_dir, tmp_path, monkeypatch, capsys):
    from saltviewer.cli import main

    monkeypatch.setenv("SALTVIEWER_CONFIG_DIR", str(tmp_path / "config"))   # nothing remembered
    assert main(["view", str(sample_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("saltviewer view: error: --workspace: needed the first time")


def test_an_unexpected_error_is_one_line_unless_verbose(monkeypatch, capsys):
    import saltviewer.cli.sample as sample
    from saltviewer.cli import main

    def broken(args):
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(sample, "run", broken)
    assert main(["sample", "out"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("saltviewer sample: error: RuntimeError: the disk caught fire "
                           "(run again with -v for the traceback)")
    assert main(["sample", "out", "-v"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "in broken" in err
    assert err.strip().splitlines()[-1] == "saltviewer sample: error: RuntimeError: the disk caught fire"


def test_diagnostics_go_to_stderr_and_quiet_hides_them(monkeypatch, capsys):
    import saltviewer.cli.sample as sample
    from saltviewer.cli import main
    from saltviewer.cli._common import log

    def talkative(args):
        log.debug("a detail")
        log.info("tiles cut in 0.1 s")
        log.warning("no depths")
        print("the result")
        return 0

    monkeypatch.setattr(sample, "run", talkative)
    assert main(["sample", "out"]) == 0
    out, err = capsys.readouterr()
    assert out == "the result\n"
    assert err.splitlines() == ["tiles cut in 0.1 s", "warning: no depths"]
    assert main(["-q", "sample", "out"]) == 0
    out, err = capsys.readouterr()
    assert out == "the result\n" and err.splitlines() == ["warning: no depths"]
    assert main(["sample", "out", "-v"]) == 0
    assert capsys.readouterr().err.splitlines() == ["a detail", "tiles cut in 0.1 s", "warning: no depths"]


def test_quiet_hides_progress_bars_on_a_terminal(monkeypatch):
    import io

    from saltviewer.cli._common import configure_logging, progress_bar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    try:
        for verbosity, hidden in ((0, False), (-1, True)):
            configure_logging(verbosity)
            bar = progress_bar("working", 3)
            assert bool(bar.disable) is hidden
            bar.close()
    finally:
        configure_logging(0)


def test_train_without_the_train_extra_says_which_extra_to_install(sample_dir, tmp_path):
    code = ("import sys; sys.modules.update(keras=None, tensorflow=None, jax=None)\n"
            "from saltviewer.cli import main\n"
            "sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, "train", str(sample_dir), "-w", str(tmp_path / "ws")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("saltviewer train: error: needs TensorFlow and Keras")
    assert "pip install 'saltviewer[train]'" in lines[0] and "Traceback" not in result.stderr


def test_missing_extra_names_the_extra():
    from saltviewer.cli._common import missing_extra

    assert "saltviewer[gui]" in missing_extra(ModuleNotFoundError("No module named 'napari'", name="napari"))
    assert "saltviewer[crf]" in missing_extra(ModuleNotFoundError("x", name="pydensecrf.densecrf"))
    assert "saltviewer[train]" in missing_extra(ModuleNotFoundError("x", name="tensorflow"))
    assert missing_extra(ModuleNotFoundError("No module named 'nothing'", name="nothing")) is None


@pytest.mark.parametrize("tensorflow, jax, env, config, expected", [
    (False, True, {}, None, "jax"),                      # the jax extra alone
    (True, True, {}, None, None),                        # TensorFlow there: Keras's default
    (False, True, {"KERAS_BACKEND": "torch"}, None, None),   # the person chose
    (False, True, {}, {"backend": "torch"}, None),       # chosen in keras.json
    (False, True, {}, {"backend": "tensorflow"}, "jax"),  # keras.json's default, TensorFlow missing
    (False, False, {}, None, None),                      # neither: Keras will say
])
def test_keras_runs_on_jax_when_only_jax_is_installed(tmp_path, monkeypatch, tensorflow, jax, env, config,
                                                       expected):
    import importlib.util
    import json

    from saltviewer.cli._common import choose_keras_backend

    present = {"tensorflow": tensorflow, "jax": jax}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object() if present.get(name) else None)
    if config is not None:
        (tmp_path / "keras.json").write_text(json.dumps(config))
    environ = dict(env, KERAS_HOME=str(tmp_path))
    assert choose_keras_backend(environ) == expected
    assert environ.get("KERAS_BACKEND") == (expected or env.get("KERAS_BACKEND"))
