"""Pure rules of ingest: parsing, Genesys leftovers, timestamps, content identity, batch rules."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import AlreadyExists, InvalidArgument, TooLarge
from services.ingest import domain
from tests.factories import child, conversation


def parse(**overrides: Any) -> domain.Entity:
    return domain.parse_entity(conversation(**overrides), 0)


def test_timestamps_are_normalised_to_utc() -> None:
    assert domain.format_timestamp(parse(dateCreated="2025-12-23T16:30:00+01:00").date_created) == (
        "2025-12-23T15:30:00.000Z"
    )


@pytest.mark.parametrize("value", ["2025-12-23", "2025-12-23T15:30:00", "tomorrow", "", "2025-13-01T00:00:00Z"])
def test_timestamps_need_a_zone_and_a_real_date(value: str) -> None:
    assert domain.parse_timestamp(value) is None


@pytest.mark.parametrize("tag", ["es", "en", "pt-BR", "zh-Hant-TW", "yue"])
def test_language_tags(tag: str) -> None:
    assert parse(language=tag).language == tag


@pytest.mark.parametrize("text", ["${input.summary}", "$esc.jsonString(${input.x})", "$!{input.x}", "a $input.x b"])
def test_velocity_leftovers_are_refused(text: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^entities\[0\]\.summary holds an unrendered Genesys template"):
        parse(summary=text)


def test_dollar_signs_in_real_text_are_fine() -> None:
    assert parse(summary="Refund of $12.50 {input}").summary == "Refund of $12.50 {input}"


def test_content_hash_ignores_how_the_instant_is_written() -> None:
    a = parse(dateCreated="2025-12-23T15:30:00Z")
    b = parse(dateCreated="2025-12-23T15:30:00.000+00:00")
    assert a.content_hash() == b.content_hash()
    assert a.content_hash() != parse(summary="other").content_hash()


def test_strings_are_not_coerced() -> None:
    with pytest.raises(InvalidArgument, match=r"entities\[0\]\.generated must be a boolean"):
        domain.parse_entity({**conversation(), "generated": "true"}, 0)


def test_stringified_insights() -> None:
    assert domain.parse_insights('[{"type": "Reason"}]', 0) == [{"type": "Reason"}]
    assert domain.parse_insights("", 0) == []
    assert domain.parse_insights(None, 0) == []
    with pytest.raises(InvalidArgument):
        domain.parse_insights('{"type": "Reason"}', 0)


def test_batch_size_limits() -> None:
    with pytest.raises(InvalidArgument, match=r"^No entities provided$"):
        domain.check_size(0, 500)
    with pytest.raises(TooLarge):
        domain.check_size(501, 500)
    domain.check_size(500, 500)


def test_external_parents_are_those_not_earlier_in_the_batch() -> None:
    entities = [domain.parse_entity(e, i) for i, e in enumerate(
        [conversation("c-1"), child("a-1", "c-1"), child("a-2", "c-9"), child("a-3", "c-9")])]
    batch = domain.prepare(entities)
    assert batch.outside_parents == {"c-9": 2}
    assert batch.inside_links == {1: "c-1"}


def test_children_link_to_a_parent_in_the_batch_by_its_genesys_id() -> None:
    entities = [domain.parse_entity(e, i) for i, e in enumerate(
        [conversation("c-1", conversationId="g-1"), child("a-1", "g-1"), child("a-2", "c-1")])]
    batch = domain.prepare(entities)
    assert batch.inside_links == {1: "c-1", 2: "c-1"}
    assert batch.outside_parents == {}


def test_a_summary_id_wins_over_a_genesys_id_in_the_batch() -> None:
    entities = [domain.parse_entity(e, i) for i, e in enumerate(
        [conversation("c-1", conversationId="c-2"), conversation("c-2"), child("a-1", "c-2")])]
    assert domain.prepare(entities).inside_links == {2: "c-2"}


def test_two_conversations_of_one_genesys_conversation_are_refused() -> None:
    entities = [domain.parse_entity(e, i) for i, e in enumerate(
        [conversation("c-1", conversationId="g-1"), conversation("c-2", conversationId="g-1")])]
    with pytest.raises(AlreadyExists, match=r"^entities\[1\]\.conversationId 'g-1' is also the conversationId"):
        domain.prepare(entities)
