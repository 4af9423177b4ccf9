"""Screenshots of the web app's main pages and of a rendered invoice, and the weight of each page.

`make screenshots` runs it with the test environment's infrastructure: it starts the whole stack
with the web app in sandbox mode, walks through a purchase in Debian's headless Chromium
(Playwright), writes PNGs to the folder given, an invoice PDF rendered to PNG (pdftoppm), and
`weights.md` (bytes each page transfers, as sent, gzip included, and unpacked).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx

from paystream.devtools.client import JWT_SECRET, WEBHOOK_SECRETS, Harness
from paystream.devtools.sandbox import Sandbox
from paystream.devtools.stack import Stack

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Weigher:
    """Bytes a page load transfers: every response, as sent (Content-Length) and unpacked."""

    def __init__(self) -> None:
        self.sent = 0
        self.unpacked = 0
        self.requests = 0
        self.pending: list[asyncio.Task[None]] = []

    def attach(self, page: Any) -> None:
        page.on("response", lambda r: self.pending.append(asyncio.ensure_future(self._add(r))))

    async def _add(self, response: Any) -> None:
        try:
            body = await response.body()
        except Exception:  # a redirect has no body to read
            return
        self.requests += 1
        self.unpacked += len(body)
        length = await response.header_value("content-length")
        self.sent += int(length) if length else len(body)

    async def measure(self, page: Any, path: str) -> tuple[int, int, int]:
        return await self.measure_after(page, page.goto(path, wait_until="networkidle"))

    async def measure_after(self, page: Any, action: Awaitable[Any]) -> tuple[int, int, int]:
        """What the page loaded by `action` (a navigation, or a click posting a form) weighs."""
        self.sent = self.unpacked = self.requests = 0
        self.pending.clear()
        await action
        await page.wait_for_load_state("networkidle")
        await asyncio.gather(*self.pending)
        return self.requests, self.sent, self.unpacked


async def run(out: Path) -> list[tuple[str, int, int, int]]:
    from playwright.async_api import async_playwright

    run_dir = Path(os.environ.get("PAYSTREAM_RUN_DIR", ".run/test"))
    port_base = int(os.environ.get("PAYSTREAM_PORT_BASE", "18000")) + 700
    stack = Stack(
        port_base=port_base,
        log_dir=run_dir / "logs" / "screenshots",
        sandbox=Sandbox.create(run_dir, port_base),
        web=True,
        env={
            "PAYSTREAM_JWT_SECRET": JWT_SECRET,
            "PAYSTREAM_STRIPE_WEBHOOK_SECRETS": ",".join(WEBHOOK_SECRETS),
            "PAYSTREAM_SELLER_NAME": "Example Credits Ltd",
            "PAYSTREAM_SELLER_ADDRESS": "1 Example Street\nLondon EC1A 1AA",
            "PAYSTREAM_SELLER_TAX_ID": "GB123456789",
            "PAYSTREAM_SELLER_EMAIL": "billing@example.com",
            "PAYSTREAM_TAX_NAME": "VAT",
            "PAYSTREAM_TAX_RATE_BP": "2000",
            # Saved cards and auto-recharge on the stateful fake Stripe (which asks for 3-D
            # Secure), so /cards and the page completing a recharge show real content.
            "PAYSTREAM_STRIPE_CUSTOMERS_API_BASE": Sandbox.create(run_dir, port_base).url(
                "fake-stripe"
            ),
            "PAYSTREAM_AUTO_RECHARGE_POLL_S": "0.5",
        },
    )
    stack.start()
    weights: list[tuple[str, int, int, int]] = []
    try:
        stack.wait_ready(timeout_s=180)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
            )
            ctx = await browser.new_context(
                base_url=stack.web_url, viewport={"width": 1100, "height": 800}
            )
            page = await ctx.new_page()
            weigher = Weigher()
            weigher.attach(page)

            async def shot(name: str, path: str | None = None, full: bool = True) -> None:
                if path is not None:
                    weights.append((path, *await weigher.measure(page, path)))
                await page.screenshot(path=str(out / f"{name}.png"), full_page=full)

            weights.append(("/signin", *await weigher.measure(page, "/signin")))
            await page.screenshot(path=str(out / "signin.png"))
            user = f"amy-{uuid.uuid4().hex[:4]}"
            await page.get_by_label("User id").fill(user)
            await page.get_by_role("button", name="Sign in", exact=True).click()
            await page.wait_for_url("**/account")
            await page.goto("/billing")
            await page.get_by_label("Company or full name").fill("北京示例科技有限公司")
            await page.get_by_label("Address").fill("北京市朝阳区建国路88号\n100022 北京")
            await page.get_by_label("Tax id").fill("91110105MA01ABCD2X")
            await page.get_by_label("Billing email").fill("finance@example.cn")
            await page.get_by_role("button", name="Save").click()
            await page.wait_for_url("**/billing?saved=1")
            await shot("billing", "/billing")
            await shot("buy", "/buy?currency=CNY")

            async def order(currency: str, method: str, package: str = "standard") -> str:
                await page.goto(f"/buy?currency={currency}")
                await page.locator(f"input[name=package_id][value={package}]").check()
                await page.locator(f"input[name=payment_method][value={method}]").check()
                await page.get_by_role("button", name="Continue to payment").click()
                await page.wait_for_url(re.compile(r"/pay$"))
                return str(page.url.split("/")[-2])

            async def complete(order_id: str) -> None:
                await page.get_by_role("button", name=re.compile("Complete the payment")).click()
                await page.wait_for_url(f"**/orders/{order_id}/return", timeout=60_000)

            oid = await order("CNY", "alipay_qr")
            await shot("pay-alipay-qr", f"/orders/{oid}/pay")
            await complete(oid)
            await page.wait_for_timeout(1500)
            await shot("success", f"/orders/{oid}/return")
            usdt = await order("USDT", "usdt_trc20", "value")
            await shot("pay-usdt", f"/orders/{usdt}/pay")
            await page.set_viewport_size({"width": 390, "height": 844})
            await shot("pay-usdt-phone", f"/orders/{usdt}/pay")
            await page.set_viewport_size({"width": 1100, "height": 800})
            await complete(usdt)
            cancelled = await order("CNY", "stripe_checkout", "trial")
            await page.get_by_role("button", name="Cancel this order").click()
            await page.wait_for_url(f"**/orders/{cancelled}/return")
            await shot("cancelled", f"/orders/{cancelled}/return")
            left = await order("CNY", "wechat_pay_native", "trial")
            await shot("came-back-without-paying", f"/orders/{left}/return?checkout=cancelled")
            await page.wait_for_timeout(2500)
            await shot("history", "/history")
            await shot("account", "/account")

            await page.goto("/history")
            href = await page.locator("#invoices a[href$='.pdf']").first.get_attribute("href")
            async with page.expect_download() as info:
                await page.locator("#invoices a[href$='.pdf']").first.click()
            pdf = out / "invoice.pdf"
            await (await info.value).save_as(pdf)
            size = len(await asyncio.to_thread(pdf.read_bytes))
            weights.append((f"{href} (PDF)", 1, size, size))

            await plans_and_quotes(page, weigher, out, weights)
            await cards_and_recharge(page, stack, user, weigher, out, weights)

            admin = await browser.new_context(
                base_url=stack.web_url, viewport={"width": 1200, "height": 900}
            )
            ops = await admin.new_page()
            weigher_ops = Weigher()
            weigher_ops.attach(ops)
            await ops.goto("/signin")
            await ops.get_by_label("User id").fill("ops")
            await ops.get_by_label("Operator (admin role)").check()
            await ops.get_by_role("button", name="Sign in", exact=True).click()
            await ops.wait_for_url("**/admin")
            weights.append(("/admin", *await weigher_ops.measure(ops, "/admin")))
            await ops.screenshot(path=str(out / "dashboard.png"), full_page=True)
            await browser.close()
    finally:
        stack.stop()

    return weights


async def plans_and_quotes(
    page: Any, weigher: Weigher, out: Path, weights: list[tuple[str, int, int, int]]
) -> None:
    """A quote for 20 receives, the plans page on Basic, then on Pro (subscribed with Alipay and
    paid in the sandbox), and the preview of an upgrade to VIP."""
    await page.goto("/buy?currency=CNY")
    field = page.get_by_label("How many receives?", exact=True)
    await field.fill("20")
    button = page.locator("form", has=field).get_by_role("button", name="Get a price")
    weights.append(
        ("/buy/quote (POST, 20 receives)", *await weigher.measure_after(page, button.click()))
    )
    await page.screenshot(path=str(out / "quote.png"), full_page=True)
    weights.append(("/plans", *await weigher.measure(page, "/plans")))
    await page.screenshot(path=str(out / "plans-basic.png"), full_page=True)
    await page.get_by_label("Pay Pro with").select_option("alipay_qr")
    await page.get_by_role("button", name="Subscribe to Pro", exact=True).click()
    await page.wait_for_url(re.compile(r"/pay$"))
    order_id = page.url.split("/")[-2]
    await page.get_by_role("button", name=re.compile("Complete the payment")).click()
    await page.wait_for_url(f"**/orders/{order_id}/return", timeout=60_000)
    for _ in range(150):
        await page.goto("/plans")
        if await page.get_by_test_id("current-plan").inner_text() == "Pro":
            break
        await page.wait_for_timeout(300)
    await page.screenshot(path=str(out / "plans-pro.png"), full_page=True)
    button = page.get_by_role("button", name="See the change to VIP", exact=True)
    weights.append(
        ("/plans/preview (POST, Pro to VIP)", *await weigher.measure_after(page, button.click()))
    )
    await page.screenshot(path=str(out / "plan-upgrade.png"), full_page=True)
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto("/plans")
    await page.screenshot(path=str(out / "plans-phone.png"), full_page=True)
    await page.set_viewport_size({"width": 1100, "height": 800})


async def cards_and_recharge(
    page: Any,
    stack: Stack,
    user: str,
    weigher: Weigher,
    out: Path,
    weights: list[tuple[str, int, int, int]],
) -> None:
    """/cards with real content: a Visa and a card that asks for 3-D Secure, saved at the fake
    Stripe as Stripe.js would; auto-recharge set on the page to the second; a spend below its
    threshold, whose off-session charge needs the buyer: /cards says so, with its link to the
    page that completes it (shot too)."""
    assert stack.sandbox is not None
    async with (
        httpx.AsyncClient(timeout=30) as http,
        httpx.AsyncClient(base_url=stack.sandbox.url("fake-stripe"), timeout=30) as fake,
    ):
        h = Harness(stack.urls, http)
        await h.save_card(fake, user, "pm_card_visa")
        three_ds = await h.save_card(fake, user, "pm_card_authenticationRequired")
        await page.goto("/cards")
        await page.get_by_label("Recharge automatically").check()
        await page.get_by_label("When my credits balance drops below", exact=True).fill("500")
        await page.get_by_label("Buy", exact=True).select_option("package:standard")
        await page.get_by_label("Currency", exact=True).select_option("USD")
        await page.get_by_label("Card", exact=True).select_option(three_ds)
        await page.get_by_label(re.compile("At most this much a month")).fill("100.00")
        await page.get_by_label("At most this many charges a day").fill("3")
        await page.get_by_label(re.compile("I allow paystream to charge my saved card")).check()
        await page.get_by_role("button", name="Save auto-recharge of credits").click()
        await page.get_by_text("Auto-recharge saved.").wait_for()
        ledger = stack.urls["ledger"]

        async def threshold_set() -> bool:
            r = await http.get(f"{ledger}/v1/balance-thresholds", headers=h.auth(user))
            return [i["threshold"] for i in r.json()["items"]] == [500]

        await h.eventually(threshold_set)
        spend = await h.balance(user) - 400
        r = await http.post(
            f"{ledger}/v1/spend",
            json={"credits": spend, "reason": "work"},
            headers={**h.auth(user), "Idempotency-Key": uuid.uuid4().hex},
        )
        r.raise_for_status()

        async def waiting() -> str | None:
            r = await http.get(f"{stack.urls['checkout']}/v1/auto-recharge", headers=h.auth(user))
            [setting] = r.json()["items"]
            return setting["action_url"] if setting["status"] == "requires_action" else None

        action_url: str = await h.eventually(waiting, timeout_s=60)
        await h.aclose()
    weights.append(("/cards", *await weigher.measure(page, "/cards")))
    await page.screenshot(path=str(out / "cards.png"), full_page=True)
    await page.goto(action_url)
    path = page.url.removeprefix(stack.web_url)
    weights.append((path, *await weigher.measure(page, path)))
    await page.screenshot(path=str(out / "recharge-confirm.png"), full_page=True)


def write(out: Path, weights: list[tuple[str, int, int, int]]) -> None:
    pdf = out / "invoice.pdf"
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-r", "80", "-png", "-singlefile", str(pdf), str(out / "invoice")],
            check=True,
        )
    else:
        print("pdftoppm not found (Debian's poppler-utils): invoice.png not written")
    lines = [
        "# Page weight",
        "",
        "What each page of the web app transfers on a first load (no cache): its requests, the",
        "bytes as sent (gzip included) and unpacked. Measured by `make screenshots` in headless",
        "Chromium against the local stack.",
        "",
        "| page | requests | sent | unpacked |",
        "| --- | ---: | ---: | ---: |",
    ]
    for path, n, sent, unpacked in weights:
        shown = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", path)
        lines.append(f"| `{shown}` | {n} | {sent / 1024:.1f} kB | {unpacked / 1024:.1f} kB |")
    (out / "weights.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    write(out, asyncio.run(run(out)))


if __name__ == "__main__":
    main()
