"""A real browser against the real stack: Debian's chromium driven by Playwright.

Playwright's own browser downloads are never used (they reach outside the package
registries); `make test` installs Debian's chromium where it can. A page's uncaught
JavaScript errors fail its test; a failed test leaves a screenshot of the page under
build/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Generator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from gateway.envoy import Gateway
from tests.conftest import ROOT
from tests.e2e.test_access_control import create_key

SCREENSHOTS = ROOT / "build" / "screenshots"
ALL_SCOPES = ("conversations:read", "conversations:write", "conversations:delete", "synth:generate")


def chromium() -> str:
    found = os.environ.get("PARLEY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("No chromium on this machine: `apt-get install chromium` (make test does it as root), "
                    "or set PARLEY_CHROMIUM to a Chromium binary")
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(), headless=True,
                                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield launched
        await launched.close()


class Console:
    """One browser tab on the gateway, with what went wrong in it."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        # A style or script the content security policy refused: the page is not as built.
        page.on("console", lambda message: self.errors.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.on("request", lambda request: self.requests.append(request.url))

    async def open(self, hash_path: str = "") -> None:
        """A fresh load of the page, as a pasted link gives (not a change of hash within it)."""
        await self.page.goto("about:blank")
        await self.page.goto(f"{self.base}/{hash_path}")

    async def sign_in(self, key: str) -> None:
        await self.open()
        await self.page.get_by_label("API key").fill(key)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.get_by_role("link", name="Analytics").wait_for()

    def url_hash(self) -> str:
        return self.page.url.split("#", 1)[1] if "#" in self.page.url else ""


@pytest.fixture
async def console(browser: Browser, gateway: Gateway, request: pytest.FixtureRequest) -> AsyncIterator[Console]:
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    tab = Console(page, f"http://127.0.0.1:{gateway.port}")
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]", "_", request.node.name)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    await context.close()
    assert not tab.errors, f"uncaught JavaScript errors or refusals by the policy: {tab.errors}"
    assert all(url.startswith(tab.base) or url.startswith(("blob:", "data:")) for url in tab.requests), \
        f"requests outside the gateway: {[u for u in tab.requests if not u.startswith(tab.base)]}"


async def console_key(http: httpx.AsyncClient, name: str, *scopes: str) -> str:
    return await create_key(http, name, *(scopes or ALL_SCOPES))


def recent(days_ago: float, minutes: int = 0) -> str:
    from datetime import UTC, datetime, timedelta

    moment = datetime.now(UTC) - timedelta(days=days_ago, minutes=-minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def entities(*items: dict[str, Any]) -> dict[str, Any]:
    return {"entities": list(items)}
