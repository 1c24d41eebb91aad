"""Each rule has one definition, in proto/: every other copy a service keeps is checked here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from parley.admin.v1 import key_service_pb2 as admin_pb
from parley.ingest.v1 import ingest_service_pb2 as pb
from parley.synth.v1 import synth_service_pb2 as synth_pb
from services.common import contract
from services.common.keys import SCOPES
from services.ingest import analytics, export, fields, languages
from services.ingest.__main__ import BOOTSTRAP_SCOPES
from services.ingest.__main__ import SCOPES as INGEST_METHOD_SCOPES
from services.stack.__main__ import CONSOLE_SCOPES
from services.synth import presets
from services.synth.__main__ import SCOPES as SYNTH_METHOD_SCOPES
from services.synth.providers.catalog import KNOWN, OPENAI_COMPATIBLE
from tests.conftest import ROOT

FILTER_MESSAGES = (pb.ListConversationsRequest, pb.GetConversationStatsRequest, pb.ListTopInsightsRequest,
                   pb.ExportConversationsRequest, pb.BatchDeleteConversationsRequest)
FILTERS = ("summary_type", "media_type", "language", "agent_id", "source_id", "conversation_id",
           "date_created_from", "q", "insight_type", "outcome")


@pytest.mark.parametrize("name", FILTERS)
def test_every_filter_has_the_same_rules_wherever_it_is_taken(name: str) -> None:
    first = contract.rules(FILTER_MESSAGES[0], name)
    assert first.ByteSize() > 0, name
    for message in FILTER_MESSAGES[1:]:
        assert contract.rules(message, name) == first, (message.DESCRIPTOR.name, name)


def test_the_services_own_tables_name_what_the_contract_names() -> None:
    assert tuple(analytics.GROUPS) == contract.string_in(pb.GetConversationStatsRequest, "group_by")
    assert tuple(export.CONTENT_TYPES) == contract.string_in(pb.ExportConversationsRequest, "format")
    assert set(KNOWN) == {"ollama", *OPENAI_COMPATIBLE}
    assert set(presets.LANGUAGES) == set(languages.STEMMERS)


def test_scopes_are_the_contracts() -> None:
    granted = {*BOOTSTRAP_SCOPES, *CONSOLE_SCOPES, *INGEST_METHOD_SCOPES.values(), *SYNTH_METHOD_SCOPES.values()}
    assert granted - {""} <= set(SCOPES), granted - set(SCOPES)
    assert set(SCOPES) == {*INGEST_METHOD_SCOPES.values(), *SYNTH_METHOD_SCOPES.values(), "admin"} - {""}
    # The console names scopes in its code: each one is a scope the contract has.
    named = {m for path in (ROOT / "console" / "src").rglob("*.js")
             for m in re.findall(r'"((?:conversations|synth):\w+)"', path.read_text())}
    assert named and named <= set(SCOPES), named - set(SCOPES)


def test_every_rpc_needs_a_scope() -> None:
    for file, table in ((pb, INGEST_METHOD_SCOPES), (synth_pb, SYNTH_METHOD_SCOPES)):
        for service in file.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                assert f"/{service.full_name}/{method.name}" in table, method.full_name


def test_the_console_is_built_from_the_contract() -> None:
    built = json.loads((ROOT / "build" / "console-generated" / "contract.json").read_text())
    assert built == json.loads(json.dumps(contract.console_rules()))
    assert built["enums"]["summaryType"] == ["Conversation", "Agent", "VirtualAgent"]


@pytest.mark.parametrize("year, accepted", [("1899", False), ("1900", True), ("9998", True), ("9999", False)])
def test_the_timestamp_pattern_is_the_accepted_range(year: str, accepted: bool) -> None:
    value = f"{year}-06-01T12:00:00Z"
    pattern = contract.pattern(pb.ConversationEntity, "date_created")
    assert bool(pattern.search(value)) is accepted
    assert (fields.timestamp_problem(value)[1] is None) is accepted


def test_ids_follow_the_contracts_pattern() -> None:
    for value, ok in (("a", True), (".", False), ("..", False), ("a/b", False), (" a", False), ("a\n", False),
                      ("x" * 255, True), ("x" * 256, False), ("conv-2025-001", True), ("é", True)):
        assert (fields.id_problem(value, in_paths=True) is None) is ok, value


def test_key_names_and_days_come_from_the_contract() -> None:
    assert contract.pattern(admin_pb.CreateKeyRequest, "name").search("ingest-flow.1")
    assert not contract.pattern(admin_pb.CreateKeyRequest, "name").search("-x")
    assert contract.int_range(admin_pb.CreateKeyRequest, "expires_in_days") == (0, 3650)


def test_the_openapi_document_carries_the_contract() -> None:
    document = json.loads((ROOT / "build" / "openapi.json").read_text())
    entity = document["components"]["schemas"]["parley_ingest_v1_ConversationEntity"]
    assert entity["required"] == ["summaryType", "mediaType", "language", "summaryId", "sourceId", "summary",
                                  "generated", "dateCreated"]
    assert entity["properties"]["summaryType"]["enum"] == list(contract.string_in(pb.ConversationEntity,
                                                                                  "summary_type"))
    assert entity["properties"]["dateCreated"]["format"] == "date-time"
    assert entity["properties"]["summaryId"]["maxLength"] == fields.ID_MAX
    request = document["components"]["schemas"]["parley_ingest_v1_CreateConversationsRequest"]
    assert (request["properties"]["entities"]["minItems"], request["properties"]["entities"]["maxItems"]) == (1, 500)
    listing = {p["name"]: p for p in document["paths"]["/api/conversations"]["get"]["parameters"]}
    assert (listing["pageSize"]["schema"]["minimum"], listing["pageSize"]["schema"]["maximum"]) == (0, 500)
    prompt = document["components"]["schemas"]["parley_synth_v1_Payload"]
    assert prompt["required"] == ["prompt"] and prompt["properties"]["prompt"]["maxLength"] == 20000


def test_the_documented_body_bound_is_the_gateways() -> None:
    from gateway import openapi, render

    assert openapi.MAX_BODY_BYTES == render.MAX_REQUEST_BYTES


def test_descriptions_speak_to_api_users() -> None:
    text = Path(ROOT / "build" / "openapi.json").read_text()
    for internal in ("proto3", "transcoder", "Value is the one type", "int64", "buf:lint"):
        assert internal not in text, internal
