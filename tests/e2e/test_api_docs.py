"""The API reference page at /api/docs: Redoc from the build, rendering /api/openapi.json."""

from __future__ import annotations

import httpx


async def test_the_reference_page_and_its_renderer_are_served(http: httpx.AsyncClient) -> None:
    page = await http.get("/api/docs")
    script = await http.get("/api/docs/redoc.standalone.js")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'spec-url="/api/openapi.json"' in page.text and 'src="/api/docs/redoc.standalone.js"' in page.text
    assert "https://" not in page.text  # nothing from a CDN
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert len(script.content) > 500_000 and b"Redoc" in script.content
