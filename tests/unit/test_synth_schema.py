"""Every regular expression of a caller's schema runs on RE2: no input makes validation backtrack."""

from __future__ import annotations

from services.synth.schema import plan

EVIL = "^(a|a)*$"  # exponential for a backtracking engine: 3.3 s at 25 characters, doubling with each
SUBJECT = "a" * 64 + "!"  # hours for Python's re; no test timeout would survive it


def test_pattern_runs_in_linear_time() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": EVIL}}}
    assert plan(schema).problem({"s": SUBJECT}) == f"{SUBJECT!r} does not match {EVIL!r} (at $.s)"
    assert plan(schema).problem({"s": "aaaa"}) is None


def test_pattern_properties_and_additional_properties_run_in_linear_time() -> None:
    schema = {"type": "object", "patternProperties": {EVIL: {"type": "integer"}}, "additionalProperties": False}
    problem = plan(schema).problem({SUBJECT: 1})
    assert problem is not None and "does not match any of the regexes" in problem
    assert plan(schema).problem({"aaa": 1}) is None


def test_unevaluated_properties_run_in_linear_time() -> None:
    schema = {"type": "object", "patternProperties": {EVIL: {}}, "unevaluatedProperties": False}
    problem = plan(schema).problem({SUBJECT: 1})
    assert problem is not None and "Unevaluated properties are not allowed" in problem


def test_property_names_run_in_linear_time() -> None:
    schema = {"type": "object", "propertyNames": {"pattern": EVIL}}
    problem = plan(schema).problem({SUBJECT: 1})
    assert problem is not None and "does not match" in problem
