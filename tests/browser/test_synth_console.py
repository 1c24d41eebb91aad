"""The console's synthetic-data page in headless Chromium: records stream in from the fake
Ollama, download as JSONL and CSV, and Parley summaries go to ingest."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import httpx
import jsonschema
from playwright.async_api import Page, expect

from testkit.fakes.ollama import FakeOllama
from tests.browser.conftest import Console, console_key
from tests.conftest import API_KEY

SPEC_PRESET = json.loads((Path(__file__).resolve().parents[2] / "console" / "presets" / "customer-support.json")
                         .read_text())


async def downloaded(page: Page, button: str) -> str:
    async with page.expect_download() as info:
        await page.get_by_role("button", name=button).click()
    download = await info.value
    saved = await download.path()
    return await asyncio.to_thread(saved.read_text)


async def test_records_stream_in_and_download_as_jsonl_and_csv(console: Console, http: httpx.AsyncClient,
                                                              ollama: FakeOllama) -> None:
    await console.sign_in(await console_key(http, "browser-synth"))
    await console.page.get_by_role("link", name="Synthetic data").click()
    page = console.page
    await expect(page.get_by_label("Preset")).to_have_value("customer-support")
    assert json.loads(await page.get_by_label("JSON Schema").input_value()) == SPEC_PRESET["payload"]["schema"]
    # The providers and their models come from GET /api/v1/models.
    await expect(page.get_by_label("Model").locator("option[value='llama3.2:3b']")).to_have_count(1)
    assert await page.get_by_label("Model").locator("option").evaluate_all("options => options.map(o => o.value)") \
        == ["", *ollama.models]
    await page.get_by_label("How many records").fill("3")
    await page.get_by_label("Seed").fill("7")
    await page.get_by_role("button", name="Generate").click()

    await expect(page.locator("#records li")).to_have_count(3)
    await expect(page.locator("#synth-status")).to_contain_text("3 of 3 records")
    await expect(page.locator("#synth-status")).to_contain_text("all valid")
    assert await page.locator("#progress").evaluate("bar => [bar.value, bar.max]") == [3, 3]

    record_schema = SPEC_PRESET["payload"]["schema"]["items"]
    lines = (await downloaded(page, "Download JSONL")).splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 3
    for record in records:
        jsonschema.validate(record, record_schema)
    shown = [json.loads(text) for text in await page.locator("#records pre").all_inner_texts()]
    assert shown == records

    table = list(csv.DictReader(io.StringIO(await downloaded(page, "Download CSV"))))
    assert len(table) == 3 and set(table[0]) == set(records[0])
    assert [row["customer_name"] for row in table] == [r["customer_name"] for r in records]
    assert json.loads(table[0]["messages"]) == records[0]["messages"]


async def test_parley_summaries_go_to_ingest(console: Console, http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    await console.sign_in(await console_key(http, "browser-sender"))
    await console.open("#/synth")
    page = console.page
    await page.get_by_label("Preset").select_option("parley-summaries")
    await page.get_by_label("Language of the summaries").select_option("es")
    assert "Spanish" in await page.get_by_label("Prompt").input_value()
    await page.get_by_label("How many records").fill("2")
    await page.get_by_role("button", name="Generate").click()
    await expect(page.locator("#records li")).to_have_count(2)
    await page.get_by_role("button", name="Send to ingest").click()
    await expect(page.locator("#send-result")).to_contain_text("Stored")

    stored = (await http.get("/api/conversations", params={"sourceId": "parley-console", "summaryType": "Conversation"},
                             headers={"x-api-key": API_KEY})).json()["conversations"]
    assert len(stored) == 2 and {c["language"] for c in stored} == {"es"}
    assert all({i["type"] for i in c["insights"]} >= {"Reason", "Resolution"} for c in stored)
    await page.get_by_role("link", name="See them").click()
    await expect(page.locator("table.list tbody tr")).to_have_count(len(stored) + await children(http, stored))


async def children(http: httpx.AsyncClient, parents: list[dict[str, object]]) -> int:
    total = 0
    for parent in parents:
        got = await http.get(f"/api/conversations/{parent['summaryId']}", headers={"x-api-key": API_KEY})
        total += len(got.json()["conversation"]["children"])
    return total


async def test_errors_show_the_apis_message(console: Console, http: httpx.AsyncClient, ollama: FakeOllama) -> None:
    await console.sign_in(await console_key(http, "browser-errors"))
    await console.open("#/synth")
    page = console.page
    await page.get_by_label("JSON Schema").fill("{not json")
    await page.get_by_role("button", name="Generate").click()
    await expect(page.get_by_role("alert")).to_contain_text("The JSON Schema is not valid JSON")
    await page.get_by_label("JSON Schema").fill('{"type": "object", "properties": {"a": {"type": "nonsense"}}}')
    await page.get_by_role("button", name="Generate").click()
    await expect(page.get_by_role("alert")).to_contain_text("payload.schema is not a valid JSON Schema")
    await expect(page.get_by_role("button", name="Generate")).to_be_enabled()
