"""The README cannot rot silently: its tables match the code (tests/test_journey.py runs its
commands as a newcomer would)."""

import json
import re

from app.config import Settings
from tests.conftest import ROOT
from training.cli import build_parser

README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
TRAINING = (ROOT / "docs" / "training.md").read_text()
BENCHMARKS = (ROOT / "docs" / "benchmarks.md").read_text()


def test_configuration_table_lists_every_setting_with_its_default():
    rows = dict(re.findall(r"^\| `DCGAN_(\w+)` \| `?([^`|]+?)`? \|", CONFIGURATION, re.M))
    for name, field in Settings.model_fields.items():
        assert name.upper() in rows, f"DCGAN_{name.upper()} missing from the README"
        default = "unset" if field.default is None else str(field.default)
        if isinstance(field.default, tuple):  # written as the variable takes it: JSON
            default = json.dumps(list(field.default))
        assert rows[name.upper()] == default, name


def test_training_flag_table_matches_the_cli():
    documented = set(re.findall(r"^\| `(--[a-z0-9-]+)", TRAINING, re.M))
    documented |= set(re.findall(r"`, `(--[a-z0-9-]+)` \|", TRAINING))  # "--a`, `--b" rows
    actual = {o for a in build_parser()._actions for o in a.option_strings if o.startswith("--")}
    assert documented == actual - {"--help"}


def test_readme_is_short_and_for_users():
    assert len(README.splitlines()) <= 200
    for word in ("session", "issue", "target"):
        assert word not in README.lower(), word
    for link in re.findall(r"\]\((docs/[^)#]+)", README):
        assert (ROOT / link).exists(), link


def test_readme_benchmark_rows_are_the_benchmarks_printout():
    """The README's rows are copied from the printout kept in docs/benchmarks.md."""
    rows = [
        line
        for line in README.splitlines()
        if line.startswith("| unique") or line.startswith("| repeated")
    ]
    assert rows
    for row in rows:
        assert row in BENCHMARKS, row
