"""One CLI style: every bad argument of the three command lines is one line and status 2."""

import logging

import pytest

from training import cliutil


def run(main, argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's checks exit from parse_args
        return exc.code


def test_fail_prints_one_line_and_returns_the_status(capsys):
    assert cliutil.fail("prog", "bad\nthing  here") == 2
    assert cliutil.fail("prog", "crash", status=1) == 1
    assert capsys.readouterr().err == "prog: error: bad thing here\nprog: error: crash\n"


def test_parser_errors_are_one_line_without_usage(capsys):
    parser = cliutil.Parser(prog="tool")
    parser.add_argument("--n", type=cliutil.int_at_least(1))
    cliutil.add_data_flag(parser)
    cliutil.add_classifier_flag(parser)
    args = parser.parse_args([])
    assert args.data is None and args.classifier == cliutil.CLASSIFIER_DIR
    for argv, message in (
        (["--n", "0"], "argument --n: 0 is below 1"),
        (["--n", "x"], "argument --n: 'x' is not an integer"),
        (["--what"], "unrecognized arguments: --what"),
    ):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(argv)
        assert exc.value.code == 2
        assert capsys.readouterr().err == f"tool: error: {message} (see --help)\n"


def test_setup_logging_adds_one_handler_however_often_it_runs(capsys):
    cliutil.setup_logging()
    cliutil.setup_logging()
    logging.getLogger("training").info("hello")
    assert capsys.readouterr().err.count("hello") == 1


@pytest.mark.parametrize(
    "module, argv, message",
    [
        ("training.cli", ["--batch-size", "0"], "--batch-size must be at least 1"),
        ("training.cli", ["--epochs"], "argument --epochs: expected one argument"),
        ("training.evaluate", ["models/x/1", "--samples", "1"], "--samples: 1 is below 2"),
        ("training.evaluate", ["{tmp}/1"], "no model.json (expected models/NAME/VERSION)"),
        ("training.average", ["{tmp}/ckpt-1"], "the following arguments are required: --export"),
        ("training.average", ["{tmp}/ckpt-1", "--export", "{tmp}/m"], "no checkpoint"),
    ],
)
def test_each_cli_reports_a_bad_argument_in_one_line(tmp_path, capsys, module, argv, message):
    import importlib

    cli = importlib.import_module(module)
    prog = {"training.cli": "dcgan-train"}.get(module, f"python -m {module}")
    argv = [arg.format(tmp=tmp_path) for arg in argv]
    assert run(cli.main, [*argv, "--out", str(tmp_path)] if module == "training.cli" else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{prog}: error: ") and message in err and err.count("\n") == 1, err
