"""What `pip install dcgan-digits` brings: the client alone, the rest in extras."""

import ast
import glob
import subprocess
import sys
import tomllib

import pytest

from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PROJECT["optional-dependencies"]


def names(requirements: list[str]) -> set[str]:
    return {r.split(";")[0].split("[")[0].split("<")[0].split(">")[0].strip() for r in requirements}


def third_party_imports(package: str) -> set[str]:
    """Top-level modules that `package`'s files import, the standard library's and its own
    left out (imports inside functions count too)."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {package, "__future__"}


def test_the_base_install_is_the_client_and_the_client_imports_only_httpx():
    assert names(PROJECT["dependencies"]) == {"httpx", "sniffio"}
    assert third_party_imports("client") == {"httpx"}


def test_tensorflow_comes_only_with_extras_and_at_one_version_range():
    tensorflow = {
        extra: r for extra, reqs in EXTRAS.items() for r in reqs if r.startswith("tensorflow")
    }
    assert set(tensorflow) == {"serve", "train", "gpu"}
    assert tensorflow["gpu"] == tensorflow["serve"].replace("tensorflow", "tensorflow[and-cuda]")
    assert tensorflow["train"] == tensorflow["serve"]


@pytest.mark.parametrize(
    "package,extras", [("app", {"serve", "postgres"}), ("training", {"train"})]
)
def test_each_package_finds_its_imports_in_its_extras(package, extras):
    provided = set().union(*(names(EXTRAS[e]) for e in extras))
    module_of = {"pillow": "PIL", "prometheus-client": "prometheus_client"}
    modules = {module_of.get(n, n).replace("-", "_") for n in provided}
    modules |= {"keras"} if "tensorflow" in provided else set()  # TensorFlow installs Keras
    modules |= {"starlette"} if "fastapi" in provided else set()  # FastAPI is built on it
    assert third_party_imports(package) <= modules


def test_dev_installs_everything_make_needs():
    assert "dcgan-digits[serve,train,postgres]" in EXTRAS["dev"]


def test_the_service_runs_on_sqlite_without_psycopg(monkeypatch, tmp_path):
    from app.jobs.database import Database

    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    Database(tmp_path / "jobs.db").close()
    with pytest.raises(ImportError, match=r"pip install 'dcgan-digits\[postgres\]'"):
        Database("postgresql://dcgan@localhost/dcgan")


SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed():
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("app", "client", "training")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert set(SETUPTOOLS["packages"]) == folders | {"dcgan_digits_models"}
    assert SETUPTOOLS["package-dir"] == {"dcgan_digits_models": "models"}


def test_the_wheel_carries_the_models_git_tracks_and_nothing_jobs_made():
    """A shipped version is added with `git add -f` (models/.gitignore) and named in pyproject's
    package-data; a checkout's own exports match neither."""
    tracked = subprocess.run(
        ["git", "ls-files", "models"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    packaged = {
        f"models/{name}"
        for pattern in SETUPTOOLS["package-data"]["dcgan_digits_models"]
        for name in glob.glob(pattern, root_dir=ROOT / "models", recursive=True)
        if (ROOT / "models" / name).is_file()
    }
    assert packaged == set(tracked) - {"models/.gitignore"}
