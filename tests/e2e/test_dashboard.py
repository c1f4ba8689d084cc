"""The dashboard in a real browser: headless Chromium (Debian's) loads it against the running system,
its numbers match the API, filters and the timeline work, the live feed shows a new decision, the agents' cards
carry the Multi-Venue badge. (The whole web app, signed in: tests/e2e/test_web_app.py.)"""

from __future__ import annotations

import shutil

import httpx
import pytest
from playwright.async_api import async_playwright

from vprime_local.stack import ServiceStack
from tests.e2e.helpers import settled_timeline, signal, trading_deployment

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH (make install puts Debian's chromium there)")
async def test_dashboard_shows_what_the_api_says(http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack) -> None:
    agent, _ = await trading_deployment(http, control_url, stack.url("simulator"), ["HYPERLIQUID", "OSTIUM"], name="Dashboard Multi Agent")
    for symbol in ("ETH", "GOLD", "MAGIC"):
        await settled_timeline(http, query_url, (await signal(http, control_url, agent["id"], symbol))["id"])
    async with async_playwright() as p:  # Playwright gives the browser a new, empty profile
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1440, "height": 1000})
        try:
            await page.goto(f"{query_url}/")
            await page.wait_for_selector("body[data-loaded=true]", timeout=20_000)
            stats = (await http.get(f"{query_url}/api/v3/stats/overview")).json()["stats"]
            assert int(await page.inner_text("#card-agents")) == stats["agents"]["total"]
            assert int(await page.inner_text("#card-signals")) == stats["signals"]["total"]
            assert int(await page.inner_text("#card-positions")) == stats["positions"]["open"]
            assert int(await page.inner_text("#card-routing")) == stats["routing"]["total"]
            venues = (await http.get(f"{query_url}/api/v3/stats/venues")).json()["venues"]
            assert f"{venues['OSTIUM']['trades']} ·" in await page.inner_text("#venues .vbar[data-venue=OSTIUM]")
            routes = (await http.get(f"{query_url}/api/v3/stats/routes", params={"limit": 8})).json()["routes"]
            assert routes[0]["most_common_route"].split(",")[0] in await page.inner_text("#routes")

            await page.fill("#f-token", "GOLD")
            await page.wait_for_function("() => [...document.querySelectorAll('#history tbody tr')].every(r => r.innerText.includes('GOLD'))")
            await page.click("#history tbody tr >> nth=0 >> button[data-signal]")
            await page.wait_for_selector("#timeline .step")
            assert "XAU-USD" in await page.inner_text("#timeline")

            live = await signal(http, control_url, agent["id"], "SOL")  # the feed shows it as it is routed
            await page.wait_for_function("() => document.querySelector('#feed').innerText.includes('SOL')", timeout=30_000)
            assert live["id"]
            await page.screenshot(path=str(stack.home / "dashboard.png"), full_page=True)

            await page.goto(f"{query_url}/#/agents")
            card = page.locator("article.card", has_text="Dashboard Multi Agent").first
            await card.wait_for()
            assert "Multi-Venue" in await card.inner_text() and "Hyperliquid + Ostium" in await card.inner_text()
        finally:
            await browser.close()
    assert (stack.home / "dashboard.png").stat().st_size > 10_000
