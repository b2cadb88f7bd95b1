"""Model names and versions: the one rule for what a model may be called and how it is named
in a request (`name` or `name@version`), used by the registry, every route and the jobs API."""

from __future__ import annotations

import re

NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,39}"
REF_PATTERN = rf"^{NAME_PATTERN}(@[1-9][0-9]{{0,8}})?$"
# The same rules in words, for error answers (never a regex).
NAME_RULE = "1-40 lowercase letters, digits, - or _, starting with a letter or digit"
REF_RULE = f"a model name ({NAME_RULE}), or a name, @ and a version number, such as dcgan@2"
# The evaluation classifier's folder under models/ (training's --classifier): not a generator.
CLASSIFIER = "mnist-classifier"
RESERVED = frozenset({CLASSIFIER})
_NAME = re.compile(rf"^{NAME_PATTERN}$")


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a model, or None when it can."""
    if not _NAME.match(name):
        return f"must be {NAME_RULE}"
    if name in RESERVED:
        return f"must not be {name!r}, a reserved name"
    return None


def is_model_name(name: str) -> bool:
    return name_problem(name) is None


def parse_ref(ref: str) -> tuple[str, int | None]:
    """'name' -> (name, None); 'name@3' -> (name, 3). The caller has checked REF_PATTERN."""
    name, _, version = ref.partition("@")
    return name, int(version) if version else None
