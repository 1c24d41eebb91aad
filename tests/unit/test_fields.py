"""Rules for single values: ids, text, timestamps, and reads that survive any stored value."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.ingest import fields


@pytest.mark.parametrize(("value", "in_paths", "ok"), [
    ("conv-2025-001", True, True), ("a b", True, True), ("ä-é", True, True), ("x" * 255, True, True),
    ("", True, False), (" a", True, False), ("a\t", True, False), ("a/b", True, False), ("a\\b", True, False),
    (".", True, False), ("..", True, False), ("a\u0000", True, False), ("x" * 256, True, False),
    ("flows/main", False, True), ("a\n", False, False),
])
def test_ids(value: str, in_paths: bool, ok: bool) -> None:
    assert (fields.id_problem(value, in_paths=in_paths) is None) == ok


@pytest.mark.parametrize(("value", "problem"), [
    ("2025-12-23T15:30:00Z", None),
    ("1900-01-01T00:00:00Z", None),
    ("1899-12-31T23:59:59Z", fields.TIMESTAMP_RANGE),
    ("9999-01-01T00:00:00Z", fields.TIMESTAMP_RANGE),
    ("9999-12-31T23:59:59-14:00", fields.TIMESTAMP_RANGE),  # past year 9999 in UTC: no OverflowError
    ("0001-01-01T00:00:00+14:00", fields.TIMESTAMP_RANGE),
    ("2025-12-23T15:30:00", fields.TIMESTAMP_HINT),
])
def test_timestamps(value: str, problem: str | None) -> None:
    assert fields.timestamp_problem(value)[1] == problem


def test_stored_infinities_are_rendered_not_a_crash() -> None:
    # asyncpg reads PostgreSQL's +-infinity as naive datetime.max / datetime.min.
    assert fields.format_timestamp(datetime.max) == "9999-12-31T23:59:59.999Z"
    assert fields.format_timestamp(datetime.min) == "0001-01-01T00:00:00.000Z"


def test_language_tags_match_whole() -> None:
    assert fields.language_problem("pt-BR") is None
    assert fields.language_problem("es\n") is not None
