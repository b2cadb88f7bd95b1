"""`jobs create`'s flags, made from the API's job schema: client/job_schema.json, the JSON schema
of the service's JobParams committed as data (the client never imports the service; the tests
check the file against it, and `python scripts/update-client-schema.py` rewrites it)."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("job_schema.json")


def load_schema(path: Path = SCHEMA_PATH) -> dict:
    """The committed job schema."""
    return json.loads(path.read_text())


def add_schema_flags(parser: argparse.ArgumentParser, schema: dict) -> list[str]:
    """One flag per property (`batch_size` -> `--batch-size`); returns the property names.

    A flag the user does not give is absent from the parsed namespace, so only given flags are
    sent and the server fills in the rest."""
    required = set(schema.get("required", ()))
    for name, spec in schema["properties"].items():
        _add_flag(parser, name, field_spec(spec, schema), name in required)
    return list(schema["properties"])


def field_spec(spec: dict, schema: dict) -> dict:
    """A property's schema with its `$ref` resolved and a nullable `anyOf` reduced to the
    non-null type (null cannot be given on a command line: leaving the flag out sends nothing)."""
    spec = dict(spec)
    refs = [spec.pop("$ref")] if "$ref" in spec else []
    refs += [part["$ref"] for part in spec.pop("allOf", []) if "$ref" in part]
    for ref in refs:
        spec = _resolve(ref, schema) | spec
    options = [_resolve(o["$ref"], schema) if "$ref" in o else o for o in spec.pop("anyOf", [])]
    options = [o for o in options if o.get("type") != "null"]
    if len(options) > 1:
        raise ValueError(f"no flag for a choice of types: {options}")
    return (options[0] | spec) if options else spec


def _resolve(ref: str, schema: dict) -> dict:
    target: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return {k: v for k, v in target.items() if k not in ("title", "description")}


def _add_flag(parser: argparse.ArgumentParser, name: str, spec: dict, required: bool) -> None:
    flag = "--" + name.replace("_", "-")
    options: dict[str, Any] = {"dest": name, "help": _help(name, spec), "required": required}
    if not required:
        options["default"] = argparse.SUPPRESS
    kind = spec.get("type")
    if kind == "boolean":
        options["action"] = argparse.BooleanOptionalAction
    elif "enum" in spec:
        options["choices"] = spec["enum"]
    elif kind in ("integer", "number"):
        options["type"] = _number(spec)
        options["metavar"] = "N" if kind == "integer" else "X"
    elif kind == "string":
        options["metavar"] = name.upper()
    else:
        raise ValueError(f"{name}: no flag for the schema {spec}")
    parser.add_argument(flag, **options)


def _help(name: str, spec: dict) -> str:
    text = spec.get("description") or spec.get("title") or name.replace("_", " ")
    extra = [bounds] if (bounds := _bounds(spec)) else []
    if spec.get("default") is not None:
        default = spec["default"]
        extra.append(f"API default: {json.dumps(default)}")
    text += f" [{'; '.join(extra)}]" if extra else ""
    return text.replace("%", "%%")  # argparse formats help with %


def _bounds(spec: dict) -> str:
    """'1 <= N <= 500', '0 < X <= 1', ...: the range a number must be in."""
    letter = "N" if spec.get("type") == "integer" else "X"
    low = (
        f"{spec['minimum']} <= "
        if "minimum" in spec
        else (f"{spec['exclusiveMinimum']} < " if "exclusiveMinimum" in spec else "")
    )
    high = (
        f" <= {spec['maximum']}"
        if "maximum" in spec
        else (f" < {spec['exclusiveMaximum']}" if "exclusiveMaximum" in spec else "")
    )
    return f"{low}{letter}{high}" if low or high else ""


def _number(spec: dict) -> Callable[[str], int | float]:
    """An argparse type: the text as an int or float, checked against the schema's bounds."""
    whole = spec["type"] == "integer"

    def parse(text: str) -> int | float:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            kind = "a whole number" if whole else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        problem = _out_of_bounds(value, spec)
        if problem:
            raise argparse.ArgumentTypeError(f"{text} {problem}")
        return value

    return parse


def _out_of_bounds(value: float, spec: dict) -> str | None:
    checks = (
        ("minimum", value < spec.get("minimum", -math.inf), "at least"),
        ("exclusiveMinimum", value <= spec.get("exclusiveMinimum", -math.inf), "above"),
        ("maximum", value > spec.get("maximum", math.inf), "at most"),
        ("exclusiveMaximum", value >= spec.get("exclusiveMaximum", math.inf), "below"),
    )
    for key, failed, words in checks:
        if failed:
            return f"is out of range: must be {words} {spec[key]}"
    return None
