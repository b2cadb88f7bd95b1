"""The layout's rules: at most eight modules at app/'s root, and the import rules of `make lint`
(pyproject.toml's [tool.importlinter]) hold, and catch a break."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120
    )


def test_app_root_holds_at_most_eight_modules():
    modules = sorted(p.name for p in (ROOT / "app").glob("*.py"))
    assert len(modules) <= 8, modules


def test_the_import_rules_hold():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_import_of_training_in_app_breaks_them(tmp_path):
    for package in ("app", "training", "client"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    names = tmp_path / "app" / "names.py"
    names.write_text(names.read_text() + "\nimport training.config  # noqa: E402, F401\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "app never imports training" in done.stdout and "BROKEN" in done.stdout
    assert "app.names -> training.config" in done.stdout
