"""The console in headless Chromium against the real stack: sign in, filter and search,
a conversation and its deletion, a chart that follows a filter, and what a key may not do."""

from __future__ import annotations

import asyncio
import json

import httpx
from playwright.async_api import Locator, expect

from tests.browser.conftest import Console, console_key, entities, recent
from tests.conftest import API_KEY
from tests.factories import child, conversation

ADMIN = {"x-api-key": API_KEY}
REFUND = [{"type": "Reason", "title": "Refund request", "description": "Wants the double charge back"},
          {"type": "Resolution", "title": "Refund issued", "description": "Refunded in full", "outcome": "Resolved"}]


async def seed(http: httpx.AsyncClient) -> None:
    """Three conversations (Spanish by call, English by email and by call), children of the first."""
    body = entities(
        conversation("conv-es", language="es", mediaType="Call", dateCreated=recent(2), insights=REFUND,
                     summary="El cliente pidió el reembolso de un cargo duplicado en su factura."),
        child("conv-es-bot", "conv-es", "VirtualAgent", language="es", agentId=None, dateCreated=recent(2, 1),
              summary="El asistente virtual verificó la identidad del cliente."),
        child("conv-es-agent", "conv-es", "Agent", language="es", agentId="agent-7", dateCreated=recent(2, 6),
              summary="La agente emitió el reembolso y confirmó por correo."),
        conversation("conv-en-mail", language="en", mediaType="Email", dateCreated=recent(1),
                     summary="Customer reported a parcel that never arrived; a replacement was shipped."),
        conversation("conv-en-call", language="en", mediaType="Call", dateCreated=recent(0.5),
                     summary="Customer asked to change the billing address on the account."),
    )
    response = await http.post("/api/conversations", headers=ADMIN, json=body)
    assert response.status_code == 200, response.text


async def rows(console: Console) -> list[str]:
    """The summary ids the list shows, in order."""
    await expect(console.page.locator("section[aria-busy='false']")).to_be_visible()
    return await console.page.locator("table.list tbody tr td:nth-child(5)").all_inner_texts()


async def cells(figure: Locator) -> list[list[str]]:
    """A chart's numbers, from the table beside it (closed or open)."""
    found: list[list[str]] = await figure.locator("tbody tr").evaluate_all(
        "rows => rows.map(row => [...row.cells].map(cell => cell.textContent))")
    return found


async def settled(figure: Locator, expected: list[list[str]], seconds: float = 15.0) -> list[list[str]]:
    """The chart's numbers once they equal `expected`, or as they are after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    found = await cells(figure)
    while found != expected and asyncio.get_running_loop().time() < deadline:
        await figure.page.wait_for_timeout(100)  # the page redraws on its own; nothing here to wait on
        found = await cells(figure)
    return found


async def test_the_console_and_its_assets_are_served_from_the_gateway(http: httpx.AsyncClient) -> None:
    page = await http.get("/")
    script = await http.get("/assets/console.js")
    style = await http.get("/assets/console.css")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert '<script type="module" crossorigin src="/assets/console.js">' in page.text
    assert "https://" not in page.text and b"https://cdn" not in script.content
    for path in ("/", "/assets/console.js"):
        refused = await http.post(path)
        assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
        assert refused.json() == {"error": "Method not allowed; use GET"}
        head = await http.head(path)
        assert head.status_code == 200 and head.content == b""
    missing = await http.get("/assets/other.js")
    assert missing.status_code == 404 and missing.json() == {"error": "Not found"}


async def test_sign_in_search_filter_and_the_back_button(console: Console, http: httpx.AsyncClient) -> None:
    await seed(http)
    key = await console_key(http, "browser-reader", "conversations:read")
    await console.open()
    await console.page.get_by_label("API key").fill("pk_not-a-key")
    await console.page.get_by_role("button", name="Sign in").click()
    await expect(console.page.get_by_role("alert")).to_have_text("Unauthorized")

    # A key must be able to read conversations at least.
    await console.page.get_by_label("API key").fill(await console_key(http, "browser-synth-only", "synth:generate"))
    await console.page.get_by_role("button", name="Sign in").click()
    await expect(console.page.get_by_role("alert")).to_have_text("This key lacks the scope conversations:read")
    assert await console.page.evaluate("sessionStorage.length") == 0

    await console.sign_in(key)
    assert await rows(console) == ["conv-en-call", "conv-en-mail", "conv-es-agent", "conv-es-bot", "conv-es"]
    assert key not in console.page.url
    assert await console.page.evaluate("Object.keys(localStorage).length") == 0

    # Search is debounced: one request after typing stops, stemmed in the row's language.
    await console.page.get_by_label("Search summaries and insights").press_sequentially("reembolsos", delay=30)
    await expect(console.page.locator("table.list tbody tr")).to_have_count(2)
    assert "q=reembolsos" in console.url_hash()
    assert sorted(await rows(console)) == ["conv-es", "conv-es-agent"]
    assert await console.page.locator("table.list mark").first.inner_text() == "reembolso"
    searches = [u for u in console.requests if "/api/conversations?" in u and "q=" in u]
    assert len(searches) == 1, searches

    await console.page.get_by_text("More filters").click()
    await console.page.get_by_label("Summary type").select_option("Conversation")
    await expect(console.page.locator("table.list tbody tr")).to_have_count(1)
    assert "summaryType=Conversation" in console.url_hash() and "q=reembolsos" in console.url_hash()

    await console.page.go_back()
    await expect(console.page.locator("table.list tbody tr")).to_have_count(2)
    assert "summaryType" not in console.url_hash()

    # The URL alone brings the filters back: a shared link.
    await console.open("#/conversations?mediaType=Email")
    assert await rows(console) == ["conv-en-mail"]
    await expect(console.page.get_by_label("Media type", exact=True)).to_have_value("Email")


async def test_paging_follows_the_cursor(console: Console, http: httpx.AsyncClient) -> None:
    body = entities(*(conversation(f"page-{n:02}", dateCreated=recent(0, -n)) for n in range(30)))
    assert (await http.post("/api/conversations", headers=ADMIN, json=body)).status_code == 200
    await console.sign_in(await console_key(http, "browser-pager", "conversations:read"))
    await console.open("#/conversations?pageSize=25")
    first = await rows(console)
    await console.page.get_by_role("link", name="Next page").click()
    await expect(console.page.locator("table.list tbody tr")).to_have_count(5)
    second = await rows(console)
    assert len(first) == 25 and not set(first) & set(second)
    assert sorted(first + second) == [f"page-{n:02}" for n in range(30)]
    await expect(console.page.get_by_role("link", name="Next page")).to_have_count(0)


async def test_a_conversation_and_its_deletion_with_its_children(console: Console, http: httpx.AsyncClient) -> None:
    await seed(http)
    await console.sign_in(await console_key(http, "browser-admin"))
    await console.page.get_by_role("link", name="conv-es", exact=True).click()
    await expect(console.page.get_by_role("heading", level=1)).to_have_text("Conversation conv-es")
    insights = console.page.locator("ul.insights li")
    await expect(insights).to_have_count(2)
    await expect(insights.nth(1)).to_contain_text("Outcome: Resolved")
    children = await console.page.locator("ol.children li a").all_inner_texts()
    assert children == ["conv-es-bot", "conv-es-agent"]  # in time order
    await console.page.get_by_text("Raw JSON").click()
    raw = json.loads(await console.page.locator("details.raw pre").inner_text())
    assert raw["summaryId"] == "conv-es" and len(raw["children"]) == 2

    await console.page.get_by_role("button", name="Delete…").click()
    dialog = console.page.get_by_role("dialog")
    await expect(dialog).to_contain_text("its 2 child summaries")
    await dialog.get_by_role("button", name="Cancel").click()
    assert (await http.get("/api/conversations/conv-es", headers=ADMIN)).status_code == 200

    await console.page.get_by_role("button", name="Delete…").click()
    await dialog.get_by_role("button", name="Delete 3 summaries").click()
    await expect(console.page.get_by_role("status").first).to_have_text("Deleted conv-es: 3 summaries.")
    assert await rows(console) == ["conv-en-call", "conv-en-mail"]
    for gone in ("conv-es", "conv-es-bot", "conv-es-agent"):
        assert (await http.get(f"/api/conversations/{gone}", headers=ADMIN)).status_code == 404


async def test_a_key_without_a_scope_sees_the_action_disabled_and_why(console: Console,
                                                                     http: httpx.AsyncClient) -> None:
    await seed(http)
    await console.sign_in(await console_key(http, "browser-read-only", "conversations:read"))
    await console.open("#/conversation/conv-es")
    delete = console.page.get_by_role("button", name="Delete…")
    await expect(delete).to_be_disabled()
    await expect(console.page.locator("#delete-reason")).to_have_text("This key lacks the scope conversations:delete")
    await console.open("#/synth")
    await expect(console.page.locator("#synth-reason")).to_contain_text("This key lacks the scope synth:generate")
    await expect(console.page.get_by_role("button", name="Generate")).to_be_disabled()
    await console.open("#/conversation/no-such-summary")
    await expect(console.page.get_by_role("alert")).to_contain_text("no-such-summary")
    await console.open("#/conversation/broken%E0%A4")  # a hand-edited link: the API's answer, not a blank page
    await expect(console.page.get_by_role("alert")).to_contain_text("broken")
    await console.open("#/nowhere?x=%")
    await expect(console.page.get_by_role("heading", level=1)).to_have_text("Conversations")


async def test_charts_follow_the_filters_and_a_bar_filters_the_list(console: Console,
                                                                    http: httpx.AsyncClient) -> None:
    await seed(http)
    await console.sign_in(await console_key(http, "browser-analyst", "conversations:read"))
    await console.page.get_by_role("link", name="Analytics").click()
    media = console.page.locator("#chart-media")
    await expect(console.page.locator(".board[aria-busy='false']")).to_be_visible()
    numbers = media.locator("tbody tr")
    await expect(numbers).to_have_count(2)
    assert await cells(media) == [["Call", "4"], ["Email", "1"]]
    assert await cells(console.page.locator("#chart-reasons")) == [["Refund request", "1", "100% resolved"]]
    assert await cells(console.page.locator("#chart-agents")) == [["agent-7", "1"]]

    await console.page.get_by_label("Language", exact=True).fill("en")
    await console.page.get_by_label("Language", exact=True).press("Enter")
    assert await settled(media, [["Call", "1"], ["Email", "1"]]) == [["Call", "1"], ["Email", "1"]]
    assert await cells(console.page.locator("#chart-reasons")) == []

    await console.page.get_by_label("Media type", exact=True).select_option("Email")
    assert await settled(media, [["Email", "1"]]) == [["Email", "1"]]
    # One bar: it stands in the middle of the canvas, from the axis up.
    canvas = media.locator("canvas")
    box = await canvas.bounding_box()
    assert box is not None
    await canvas.click(position={"x": box["width"] / 2, "y": box["height"] * 0.7})
    assert await rows(console) == ["conv-en-mail"]
    assert "mediaType=Email" in console.url_hash() and "language=en" in console.url_hash()


async def test_markup_in_stored_text_stays_text(console: Console, http: httpx.AsyncClient) -> None:
    """Summaries come from outside: tags in them (and around a search's <mark>) are shown, never run."""
    hostile = '<img src=x onerror="window.pwned=1"> refund <mark>x</mark> <script>window.pwned=2</script>'
    body = entities(conversation("conv-xss", dateCreated=recent(1), summary=hostile,
                                 insights=[{"type": "Reason", "title": "<b onmouseover=alert(1)>Refund</b>",
                                            "description": "<iframe src=/api/docs></iframe>"}]))
    assert (await http.post("/api/conversations", headers=ADMIN, json=body)).status_code == 200
    await console.sign_in(await console_key(http, "browser-xss", "conversations:read"))
    await console.open("#/conversations")
    assert await rows(console) == ["conv-xss"]
    summary = console.page.locator("table.list td.summary")
    assert "<img src=x" in await summary.inner_text() and "<mark>x</mark>" in await summary.inner_text()
    await console.open("#/conversations?q=refund")
    assert await rows(console) == ["conv-xss"]
    assert await summary.locator("mark").all_inner_texts() == ["refund"]  # the API's mark, not the text's
    await console.open("#/conversation/conv-xss")
    await expect(console.page.locator("ul.insights li strong")).to_have_text("<b onmouseover=alert(1)>Refund</b>")
    assert await console.page.locator("main img, main script, main iframe, main b").count() == 0
    assert await console.page.evaluate("window.pwned") is None
