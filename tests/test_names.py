import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.jobs.schema import JobParams
from app.names import REF_PATTERN, is_model_name, name_problem, parse_ref
from app.serving.modelsdir import discover


@pytest.mark.parametrize("name", ["dcgan", "cdcgan", "a", "my-digits_2", "0" * 40])
def test_servable_names(name):
    assert (
        is_model_name(name) and re.match(REF_PATTERN, name) and re.match(REF_PATTERN, name + "@3")
    )


@pytest.mark.parametrize(
    "name", ["-x", "_x", "Bad", "x" * 41, "../etc", "a b", "", "mnist-classifier"]
)
def test_names_nobody_could_ask_for(name):
    assert name_problem(name)


def test_refs():
    assert parse_ref("dcgan") == ("dcgan", None) and parse_ref("dcgan@12") == ("dcgan", 12)
    assert not re.match(REF_PATTERN, "dcgan@0") and not re.match(REF_PATTERN, "dcgan@")


@settings(max_examples=200, deadline=None)
@given(name=st.from_regex(r"\A[a-z0-9_-]{0,41}\Z"))
def test_a_name_post_jobs_accepts_is_one_the_registry_serves(tmp_path_factory, name):
    """What the jobs API accepts, the models folder's reader finds again (after a restart)."""
    try:
        JobParams(name=name)
    except ValidationError:
        assert name_problem(name)
        return
    models = tmp_path_factory.mktemp("models")
    (models / name / "1").mkdir(parents=True)
    assert discover(models) == {(name, 1): models / name / "1"}
    assert re.match(REF_PATTERN, name) and re.match(REF_PATTERN, f"{name}@1")
