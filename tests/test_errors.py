"""Error answers: one JSON shape (the Error model), and what was wrong said in plain words that
name the parameter (no regex, no pydantic prefix), with its machine-readable location."""

import json

import pytest

from app.api.deps import EVENT_ID_PATTERN, PATTERN_RULES
from app.api.errors import Error, sentence
from app.main import create_app
from app.names import NAME_RULE, REF_RULE

WALK = "/interpolate?seed_a=1&seed_b=2"
WHOLE = "must be a whole number written in the digits 0-9, such as 16"


@pytest.mark.parametrize(
    ("url", "loc", "msg"),
    [
        ("/generate?n=0", ["query", "n"], "n must be at least 1"),
        ("/generate?scale=9", ["query", "scale"], "scale must be at most 8"),
        ("/generate?model=Bad!", ["query", "model"], f"model must be {REF_RULE}"),
        ("/generate?seed=1_6", ["query", "seed"], f"seed {WHOLE}"),
        (
            "/generate?model=cdcgan&digits=1,,2",
            ["query", "digits"],
            "digits must be digits 0-9 separated by commas, such as 0,1,2",
        ),
        ("/interpolate?seed_a=1", ["query", "seed_b"], "seed_b is required"),
        (f"{WALK}&format=jpg", ["query", "format"], "format must be 'png' or 'gif'"),
        ("/jobs/0", ["path", "job_id"], "job_id must be at least 1"),
        ("/jobs?limit=x", ["query", "limit"], f"limit {WHOLE}"),
        ("/models/Bad", ["path", "name"], f"name must be {NAME_RULE}"),
    ],
)
def test_a_bad_parameter_is_a_sentence_naming_it(client, url, loc, msg):
    response = client.get(url)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["msg"]) == (loc, msg)


def test_each_bad_field_of_a_job_is_a_sentence_and_no_job_starts(client):
    body = {"name": "Bad Name", "epochs": 0, "seed": "5", "conditional": 1, "epochz": 1}
    response = client.post("/jobs", json=body)
    assert response.status_code == 422
    assert {tuple(p["loc"]): p["msg"] for p in response.json()["detail"]} == {
        ("body", "name"): f"name must be {NAME_RULE}",
        ("body", "epochs"): "epochs must be at least 1",
        ("body", "seed"): "seed must be a whole number",
        ("body", "conditional"): "conditional must be true or false",
        ("body", "epochz"): "epochz is not a known field (/docs lists the fields)",
    }
    body = {"name": "mnist-classifier", "epochs": 5, "lr_decay_epochs": 9}
    reserved = client.post("/jobs", json=body)
    assert [p["msg"] for p in reserved.json()["detail"]] == [
        "name must not be 'mnist-classifier', a reserved name",
        "lr_decay_epochs must be at most epochs (5)",
    ]
    assert client.get("/jobs").json()["total"] == 0


@pytest.mark.parametrize(
    ("content", "msg"),
    [
        (b"[1]", "the body must be a JSON object"),
        (b"", "the body is required"),
        (
            b"{not json",
            "the body is not valid JSON (Expecting property name enclosed in double quotes)",
        ),
    ],
)
def test_a_body_that_is_no_job_says_what_it_is(client, content, msg):
    headers = {"Content-Type": "application/json"}
    response = client.post("/jobs", content=content, headers=headers)
    assert response.status_code == 422 and response.json()["detail"][0]["msg"] == msg


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_job_not_sent_as_json_is_415_saying_to(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/jobs", content=json.dumps({"name": "x"}), headers=headers)
    assert response.status_code == 415
    assert response.json() == {
        "detail": "send the body as JSON, with Content-Type: application/json"
    }
    assert client.get("/jobs").json()["total"] == 0


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/generate?n=0&seed=x&model=Bad!", 422),
        ("GET", "/generate?digit=3", 422),  # the route's own check (dcgan is not conditional)
        ("GET", "/generate?model=nope", 404),
        ("GET", "/jobs/999", 404),
        ("GET", "/jobs/999/samples/1.png", 404),
        ("GET", "/nowhere", 404),
        ("PUT", "/jobs", 405),
        ("POST", "/jobs", 415),
        ("POST", "/jobs/999/cancel", 404),
    ],
)
def test_every_error_answer_is_the_error_model(client, method, url, status):
    response = client.request(method, url)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = Error.model_validate(response.json())
    texts = [error.detail] if isinstance(error.detail, str) else [p.msg for p in error.detail]
    for text in texts:
        assert not any(leak in text for leak in ("^", "[a-z", "Value error", "should match"))


def test_a_header_and_an_unforeseen_error_are_named_too():
    header = {
        "type": "string_pattern_mismatch",
        "loc": ("header", "last-event-id"),
        "msg": "String should match pattern",
        "ctx": {"pattern": EVENT_ID_PATTERN},
    }
    assert sentence(header) == "the last-event-id header must be an event id: 1-15 digits 0-9"
    other = {"type": "url_parsing", "loc": ("query", "x"), "msg": "Input should be a valid URL"}
    assert sentence(other) == "x should be a valid URL"


def test_every_pattern_of_the_api_has_its_rule_in_words():
    patterns = set(_patterns(create_app().openapi()))
    assert patterns and patterns <= set(PATTERN_RULES)


def _patterns(node):
    """Every `pattern` in a JSON document."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        node = list(node.values())
    for child in node if isinstance(node, list) else []:
        yield from _patterns(child)
