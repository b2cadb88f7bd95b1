import re

import pytest

from app.names import REF_PATTERN, is_model_name, name_problem, parse_ref


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
