"""The web app as a person uses it, in a real headless Chromium against the running stack in
sandbox mode: sign in, buy a package with each payment method, complete the payment the way its
provider would, watch the order move to paid without reloading, see the balance change; the
cancel, pending and "came back without paying" pages; the history with the invoice and its PDF;
the billing profile on that PDF; an admin's dashboard counting the purchase."""

from __future__ import annotations

import io
import re
import time
import uuid
from typing import Any

import pypdf
import pytest

from paystream.devtools.client import Harness
from paystream.devtools.stack import Stack

pytestmark = pytest.mark.e2e

# (method, currency, what the pay page shows for it)
METHODS = [
    ("stripe_checkout", "CNY", "redirect"),
    ("stripe_payment_intent", "USD", "elements"),
    ("alipay_qr", "CNY", "qr"),
    ("alipay_page", "CNY", "redirect"),
    ("wechat_pay_native", "CNY", "qr"),
    ("usdt_trc20", "USDT", "crypto"),
]


def _user() -> str:
    return f"web-{uuid.uuid4().hex[:10]}"


async def sign_in(page: Any, user: str, *, admin: bool = False) -> None:
    await page.goto("/signin")
    await page.get_by_label("User id").fill(user)
    if admin:
        await page.get_by_label("Operator (admin role)").check()
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(re.compile(r"/(account|admin)$"))


async def balance_on_account(page: Any) -> int:
    await page.goto("/account")
    return int((await page.get_by_test_id("balance-credits").inner_text()).replace(",", ""))


async def eventually_balance(page: Any, expected: int, timeout_s: float = 45) -> None:
    deadline = time.monotonic() + timeout_s
    while (got := await balance_on_account(page)) != expected:
        assert time.monotonic() < deadline, f"balance {got}, expected {expected}"
        await page.wait_for_timeout(300)


async def start_order(page: Any, currency: str, method: str, package: str = "standard") -> str:
    """Buy `package` in `currency` with `method` through the buy page; returns the order id."""
    await page.goto("/buy")
    await page.get_by_label("Currency").select_option(currency)
    await page.wait_for_url(re.compile(rf"currency={currency}"))
    await page.locator(f"input[name=package_id][value={package}]").check()
    await page.locator(f"input[name=payment_method][value={method}]").check()
    await page.get_by_role("button", name="Continue to payment").click()
    await page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/pay$"))
    return str(page.url.split("/")[-2])


@pytest.mark.parametrize(("method", "currency", "kind"), METHODS, ids=[m[0] for m in METHODS])
async def test_buy_a_package_with_each_method_and_see_the_balance_change(
    page: Any, stack: Stack, method: str, currency: str, kind: str
) -> None:
    user = _user()
    await sign_in(page, user)
    assert await balance_on_account(page) == 0

    order_id = await start_order(page, currency, method)
    status = page.locator("#order-status")
    assert await status.inner_text() == "Waiting for your payment"
    assert re.search(r"\(\d+:\d\d left\)", await page.locator("#countdown").inner_text())

    # What this method shows the payer.
    if kind == "redirect":
        link = page.locator("#provider-link")
        assert (await link.get_attribute("href") or "").startswith("http")
    elif kind == "elements":
        await page.get_by_text("Stripe's Payment Element").wait_for()
    elif kind == "qr":
        qr = page.get_by_role("img", name=re.compile("QR code to pay"))
        await qr.wait_for()
        assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
    else:
        assert (await page.locator("#usdt-address").inner_text()).startswith("T")
        assert re.fullmatch(r"14\.000\d{3}", await page.locator("#usdt-amount").inner_text())
        await page.get_by_role("button", name="Copy address").wait_for()
        await page.get_by_role("button", name="Copy amount").wait_for()
        qr = page.get_by_role("img", name=re.compile("QR code of the deposit address"))
        assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")

    # Complete the payment as the provider would; the page is not reloaded: a marker set on it
    # survives until the status region says Paid.
    await page.evaluate("window.__notReloaded = true")
    await page.get_by_role("button", name=re.compile("Complete the payment as")).click()
    await page.wait_for_function(
        "document.querySelector('#order-status').dataset.status === 'paid'", timeout=45_000
    )
    assert await page.evaluate("window.__notReloaded === true")
    assert await status.inner_text() == "Paid"

    # Then the success page.
    await page.wait_for_url(f"**/orders/{order_id}/return")
    await page.get_by_role("heading", name="Payment received").wait_for()
    await eventually_balance(page, 1100)


async def test_cancel_pending_and_came_back_without_paying_pages(page: Any) -> None:
    await sign_in(page, _user())
    order_id = await start_order(page, "CNY", "stripe_checkout")

    # The provider sends the payer back without a payment (Stripe's cancel_url).
    await page.goto(f"/checkout/return?order_id={order_id}&checkout=cancelled")
    await page.wait_for_url(f"**/orders/{order_id}/return?checkout=cancelled")
    await page.get_by_role("heading", name="Payment not completed").wait_for()
    await page.get_by_text("nothing was charged").wait_for()

    # The return page of an order still waiting says so.
    await page.goto(f"/orders/{order_id}/return")
    await page.get_by_role("heading", name="Payment pending").wait_for()

    # Cancelling from the pay page lands on the cancel page.
    await page.goto(f"/orders/{order_id}/pay")
    await page.get_by_role("button", name="Cancel this order").click()
    await page.wait_for_url(f"**/orders/{order_id}/return")
    await page.get_by_role("heading", name="Order cancelled").wait_for()
    await page.get_by_text("nothing was charged").wait_for()
    # A cancelled order's pay page sends you to what happened.
    await page.goto(f"/orders/{order_id}/pay")
    await page.get_by_role("heading", name="Order cancelled").wait_for()


async def test_history_shows_the_invoice_with_the_billing_profile_on_its_pdf(page: Any) -> None:
    await sign_in(page, _user())
    await page.goto("/billing")
    await page.get_by_label("Company or full name").fill("上海示例网络科技有限公司")
    await page.get_by_label("Address").fill("上海市浦东新区世纪大道100号")
    await page.get_by_label("Tax id").fill("91310115MA1K4XYZ7Q")
    await page.get_by_role("button", name="Save").click()
    await page.get_by_text("Saved.").wait_for()

    order_id = await start_order(page, "CNY", "wechat_pay_native")
    await page.get_by_role("button", name=re.compile("Complete the payment as")).click()
    await page.wait_for_url(f"**/orders/{order_id}/return", timeout=45_000)

    deadline = time.monotonic() + 45
    while True:
        await page.goto("/history")
        rows = page.locator("#invoices tbody tr")
        if await rows.count():
            break
        assert time.monotonic() < deadline, "no invoice in the history"
        await page.wait_for_timeout(500)
    number = (await rows.first.locator("td").first.inner_text()).split("\n")[0]
    assert re.fullmatch(r"INV-\d{4}-\d{6}", number)
    async with page.expect_download() as info:
        await rows.first.get_by_role("link", name=f"Download invoice {number} as PDF").click()
    download = await info.value
    assert download.suggested_filename == f"{number}.pdf"
    pdf = _read(await download.path())
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in (
        number,
        "上海示例网络科技有限公司",
        "上海市浦东新区世纪大道100号",
        "Tax ID: 91310115MA1K4XYZ7Q",
        "Payment method WeChat Pay",
        "Total (CNY) CNY 100.00",
    ):
        assert expected in text, f"{expected!r} not in the PDF:\n{text}"
    # The ledger entry of the purchase is there too.
    await page.locator("#ledger").get_by_text("+1,100").wait_for()


async def test_the_account_shows_lots_and_their_expiry(page: Any) -> None:
    await sign_in(page, _user())
    order_id = await start_order(page, "CNY", "alipay_qr")
    await page.get_by_role("button", name=re.compile("Complete the payment as")).click()
    await page.wait_for_url(f"**/orders/{order_id}/return", timeout=45_000)
    await eventually_balance(page, 1100)
    # The next expiry (six months after the payment, the catalog's rule) and how many credits.
    expiry = await page.get_by_test_id("expiry-credits").inner_text()
    assert re.match(r"1,100 on \S", expiry), expiry
    assert "not available yet" not in await page.content()
    assert (await page.get_by_test_id("held-credits").inner_text()) == "0"
    [row] = await page.locator("#lots-table tbody tr").all()
    cells = [c.strip() for c in await row.locator("td").all_inner_texts()]
    assert cells[1:6] == ["credits", "purchase", "active", "1,100", "1,100"], cells
    assert cells[6] not in ("", "never"), cells
    # The history names the lot's expiry beside its purchase.
    await page.goto("/history")
    purchase = page.locator("#ledger tbody tr", has_text="+1,100")
    assert (await purchase.locator("td").nth(4).inner_text()).strip() not in ("", "never")


def _read(path: Any) -> bytes:
    with open(path, "rb") as f:
        return f.read()


async def test_an_admin_sees_the_purchase_counted_on_the_dashboard(
    page: Any, browser: Any, stack: Stack, harness: Harness
) -> None:
    admin = await browser.new_context(base_url=stack.web_url)
    ops = await admin.new_page()
    try:
        await sign_in(ops, f"ops-{uuid.uuid4().hex[:6]}", admin=True)

        async def paid_alipay() -> int:
            await ops.goto("/admin")
            cell = ops.get_by_test_id("paid-alipay_qr")
            return int(await cell.inner_text()) if await cell.count() else 0

        before = await paid_alipay()
        await sign_in(page, _user())
        order_id = await start_order(page, "CNY", "alipay_qr", package="trial")
        await page.get_by_role("button", name=re.compile("Complete the payment as")).click()
        await page.wait_for_url(f"**/orders/{order_id}/return", timeout=45_000)

        assert await paid_alipay() == before + 1
        await ops.get_by_role("heading", name="Operator dashboard").wait_for()
        for name in ("Payment success rate by method", "Package popularity"):
            await ops.get_by_role("figure", name=name).wait_for()
        assert await ops.locator("figure.chart svg").count() >= 4
        assert "trial" in await ops.locator("#packages").inner_text()
        assert "alipay" in await ops.locator("#revenue").inner_text()
        assert await ops.locator("#dead-letters tbody tr").count() == 3
        await ops.locator("#lag").get_by_text("checkout").first.wait_for()

        # Not an admin: the dashboard is refused with a page saying why.
        await page.goto("/admin")
        await page.get_by_role("heading", name="Forbidden").wait_for()
    finally:
        await admin.close()


async def test_pages_fit_a_phone_and_every_field_has_a_label(page: Any) -> None:
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, _user())
    order_id = await start_order(page, "USDT", "usdt_trc20")
    for path in ("/account", "/buy", f"/orders/{order_id}/pay", "/history", "/billing"):
        await page.goto(path)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
        unlabeled = await page.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
               .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
               .map(el => el.name)"""
        )
        assert unlabeled == [], f"{path}: fields without a label: {unlabeled}"
    # Keyboard: the skip link is the first stop and leads to the content.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"


# ---- issue 15: the success page asks the provider (sync) ------------------------------------


async def test_the_return_page_finds_a_payment_whose_notification_was_lost(
    page: Any, stack: Stack, harness: Harness
) -> None:
    # The payer paid at Alipay and came back; Alipay's notification never arrived. The return
    # page asks checkout to ask Alipay (POST /v1/orders/{id}/sync) and shows the payment.
    user = _user()
    await sign_in(page, user)
    order_id = await start_order(page, "CNY", "alipay_qr")
    assert stack.sandbox is not None
    order = (await harness.order(user, order_id)).json()
    r = await harness.http.post(
        f"{stack.sandbox.url('fake-alipay')}/_fake/trades/{order['provider_session_id']}/pay",
        json={"deliver": False},
    )
    assert r.status_code == 200, r.text
    await page.goto(f"/checkout/return?out_trade_no={order_id}")
    await page.wait_for_url(f"**/orders/{order_id}/return")
    await page.get_by_role("heading", name="Payment received").wait_for()
    assert "Payment pending" not in await page.content()
