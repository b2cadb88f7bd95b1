"""`jobs create`'s flags come from client/job_schema.json, which must be the API's job schema."""

import argparse
import json

import pytest

from app.jobs.schema import JobParams
from client.cli import build_parser
from client.schema import add_schema_flags, load_schema

# What the API may add to JobParams: a string enum as pydantic writes a StrEnum ($ref) and a
# Literal (inline), a boolean, an int, a float, a nullable int.
SCHEMA = {
    "$defs": {"Recipe": {"enum": ["tutorial", "quick", "quality"], "title": "Recipe"}},
    "properties": {
        "name": {"type": "string", "description": "Model name."},
        "recipe": {"$ref": "#/$defs/Recipe", "default": "quality", "description": "Preset."},
        "precision": {"enum": ["float32", "bfloat16"], "type": "string", "title": "Precision"},
        "conditional": {"type": "boolean", "default": False, "description": "G(noise, digit)."},
        "epochs": {"type": "integer", "minimum": 1, "maximum": 500, "description": "Epochs."},
        "top_k": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "description": "1% k"},
        "limit": {
            "anyOf": [{"type": "integer", "minimum": 1, "maximum": 60000}, {"type": "null"}],
            "default": None,
            "description": "First N images.",
        },
    },
    "required": ["name"],
}


def parse(*argv: str) -> dict:
    parser = argparse.ArgumentParser(prog="create")
    add_schema_flags(parser, SCHEMA)
    return vars(parser.parse_args(argv))


def test_the_committed_schema_is_the_apis():
    api = json.loads(json.dumps(JobParams.model_json_schema()))
    assert load_schema() == api, (
        "client/job_schema.json differs from app.jobs.schema.JobParams: "
        "run `python scripts/update-client-schema.py` and commit the file"
    )


def test_only_the_flags_given_are_sent():
    assert parse("--name", "x") == {"name": "x"}
    given = parse("--name", "x", "--recipe", "quick", "--no-conditional", "--epochs", "3")
    assert given == {"name": "x", "recipe": "quick", "conditional": False, "epochs": 3}
    more = parse("--name", "x", "--top-k", "1", "--limit", "64", "--precision", "bfloat16")
    assert more == {"name": "x", "top_k": 1.0, "limit": 64, "precision": "bfloat16"}
    assert isinstance(more["top_k"], float) and parse("--name", "x", "--conditional")["conditional"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "argument --epochs: 0 is out of range: must be at least 1"),
        (["--epochs", "501"], "must be at most 500"),
        (["--epochs", "2.5"], "'2.5' is not a whole number"),
        (["--top-k", "0"], "0 is out of range: must be above 0"),
        (["--top-k", "nan"], "'nan' is not a finite number"),
        (["--limit", "0"], "must be at least 1"),
        (["--recipe", "slow"], "invalid choice: 'slow'"),
        ([], "the following arguments are required: --name"),
    ],
)
def test_values_outside_the_schema_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        parse(*(argv if not argv else ["--name", "x", *argv]))
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_help_shows_description_bounds_and_default(capsys):
    parser = argparse.ArgumentParser(prog="create")
    add_schema_flags(parser, SCHEMA)
    parser.print_help()
    text = " ".join(capsys.readouterr().out.split())
    assert '--recipe {tutorial,quick,quality} Preset. [API default: "quality"]' in text
    assert "--epochs N Epochs. [1 <= N <= 500]" in text
    assert (
        "--top-k X 1% k [0 < X <= 1]" in text and "--precision {float32,bfloat16} Precision" in text
    )
    assert "--limit N First N images. [1 <= N <= 60000]" in text


def walk(parser: argparse.ArgumentParser, path: str = ""):
    """Every (command path, option) of the parser and its subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


def test_every_option_of_every_command_has_help():
    options = list(walk(build_parser()))
    missing = [f"{path}: {a.option_strings or a.dest}" for path, a in options if not a.help]
    assert not missing, missing
    create = {a.dest for path, a in options if path == " jobs create"}
    assert set(JobParams.model_fields) <= create  # a flag for every field of the API's
