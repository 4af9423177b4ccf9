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
from datetime import datetime
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
        # Plan popularity: a user who opens the plans page holds Basic, and is counted.
        await ops.goto("/plans")
        await ops.goto("/admin")
        basic = ops.locator("#plans tbody tr", has_text="basic")
        assert int((await basic.locator("td").nth(1).inner_text()).replace(",", "")) >= 1
        await ops.locator("#open-reviews").wait_for()
        # Refunds no order could take are listed, and the figure counts the rows shown.
        rows = ops.locator("#unmatched-refunds tbody tr")
        listed = await rows.count()
        if listed == 1 and (await rows.first.inner_text()).strip() == "None.":
            listed = 0
        shown = (await ops.get_by_test_id("unmatched-refunds").inner_text()).rstrip("+")
        assert int(shown) == listed
        assert await ops.locator("#dead-letters tbody tr").count() == 3
        await ops.locator("#lag").get_by_text("checkout").first.wait_for()

        # Not an admin: the dashboard is refused with a page saying why.
        await page.goto("/admin")
        await page.get_by_role("heading", name="Forbidden").wait_for()
    finally:
        await admin.close()


async def fits_a_phone_with_labels(page: Any, what: str) -> None:
    """The page shown is no wider than the viewport, and each of its fields has a label."""
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{what} is {overflow}px wider than a phone"
    unlabeled = await page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
           .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
           .map(el => el.name)"""
    )
    assert unlabeled == [], f"{what}: fields without a label: {unlabeled}"


async def test_pages_fit_a_phone_and_every_field_has_a_label(page: Any) -> None:
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, _user())
    order_id = await start_order(page, "USDT", "usdt_trc20")
    for path in ("/account", "/buy", f"/orders/{order_id}/pay", "/history", "/billing", "/cards"):
        await page.goto(path)
        await fits_a_phone_with_labels(page, path)
    # Keyboard: the skip link is the first stop and leads to the content.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"


# ---- a quantity of units, a custom amount, plans (issue 11's purchases, issue 13's pages) ----


async def balance_of(page: Any, unit: str) -> int:
    """The available balance of `unit` on the account page (0 while the unit has no row)."""
    await page.goto("/account")
    cell = page.get_by_test_id(f"balance-{unit}")
    return int((await cell.inner_text()).replace(",", "")) if await cell.count() else 0


async def eventually_balance_of(page: Any, unit: str, expected: int, timeout_s: float = 45) -> None:
    deadline = time.monotonic() + timeout_s
    while (got := await balance_of(page, unit)) != expected:
        assert time.monotonic() < deadline, f"{unit} balance {got}, expected {expected}"
        await page.wait_for_timeout(300)


async def ask_price(page: Any, label: str, value: str) -> None:
    """Type `value` in the buy page's field labelled `label` and ask checkout for its price."""
    field = page.get_by_label(label, exact=True)
    await field.fill(value)
    await page.locator("form", has=field).get_by_role("button", name="Get a price").click()


async def refused_next_to(page: Any, field_id: str) -> str:
    """The refusal shown next to a field of the buy page (the page itself, never a 500)."""
    await page.get_by_role("heading", name="Buy credits").wait_for()
    error = page.get_by_test_id(f"{field_id}-error")
    await error.wait_for()
    field = page.locator(f"#{field_id}")
    assert await field.get_attribute("aria-invalid") == "true"
    assert f"{field_id}-error" in (await field.get_attribute("aria-describedby") or "")
    return str(await error.inner_text())


async def pay_in_sandbox(page: Any) -> str:
    """On an order's pay page: complete the payment as the provider would; the order's id."""
    await page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/pay$"))
    order_id = str(page.url.split("/")[-2])
    await page.get_by_role("button", name=re.compile("Complete the payment as")).click()
    await page.wait_for_url(f"**/orders/{order_id}/return", timeout=45_000)
    return order_id


async def test_buy_20_units_with_a_quote_and_see_that_units_balance_change(page: Any) -> None:
    await sign_in(page, _user())
    before = await balance_of(page, "receives")
    await page.goto("/buy?currency=CNY")
    tiers = page.get_by_test_id("tiers-receives")
    for row in ("1-4 CNY 2.00", "5-9 CNY 1.80", "10-19 CNY 1.70", "20-100 CNY 1.60"):
        await tiers.get_by_role("row", name=row).wait_for()

    # Checkout refuses what it does not sell; the refusal is next to the field, what was typed
    # is kept, and nothing is ordered.
    for bad in ("0", "101"):
        await ask_price(page, "How many receives?", bad)
        said = await refused_next_to(page, "quantity-receives")
        assert "1..100" in said or "1 to 100" in said or "range" in said, said
        assert await page.get_by_label("How many receives?", exact=True).input_value() == bad
    await ask_price(page, "How many receives?", "twenty")
    assert "whole number" in await refused_next_to(page, "quantity-receives")

    # The price is checkout's quote: 20 at the 20-100 tier.
    await ask_price(page, "How many receives?", "20")
    await page.get_by_role("heading", name="Your price").wait_for()
    assert await page.get_by_test_id("quote-amount").inner_text() == "CNY 32.00"
    assert await page.get_by_test_id("quote-units").inner_text() == "20 receives"

    # An altered quote (a character of its signed body changed) is refused by checkout, shown
    # next to the field, and charges nothing.
    await page.locator("input[name=quote]").evaluate(
        "el => { const c = el.value[12] === 'A' ? 'B' : 'A';"
        " el.value = el.value.slice(0, 12) + c + el.value.slice(13) }"
    )
    await page.get_by_role("button", name="Pay CNY 32.00").click()
    assert "not valid" in await refused_next_to(page, "quantity-receives")
    await page.goto("/history")
    assert "CNY 32.00" not in await page.locator("main").inner_text()

    # Quoted again and paid: the order charges the quote, and 20 receives arrive.
    await page.goto("/buy?currency=CNY")
    await ask_price(page, "How many receives?", "20")
    await page.locator("input[name=payment_method][value=alipay_qr]").check()
    await page.get_by_role("button", name="Pay CNY 32.00").click()
    await page.wait_for_url(re.compile(r"/pay$"))
    assert "CNY 32.00" in await page.locator("main").inner_text()
    await pay_in_sandbox(page)
    await eventually_balance_of(page, "receives", before + 20)


async def test_an_expired_quote_is_refused_next_to_the_field(page: Any, harness: Harness) -> None:
    await sign_in(page, _user())
    await page.goto("/buy?currency=CNY")
    await ask_price(page, "How many receives?", "5")
    assert await page.get_by_test_id("quote-amount").inner_text() == "CNY 9.00"
    # Past the quote's 900 s on checkout's (sandbox) clock, while the page still shows it.
    r = await harness.http.post(
        f"{harness.urls['checkout']}/v1/sandbox/clock/advance",
        headers=harness.auth("web-ops", admin=True),
        json={"by": "PT16M"},
    )
    assert r.status_code == 200, r.text
    await page.get_by_role("button", name="Pay CNY 9.00").click()
    assert "expired" in await refused_next_to(page, "quantity-receives")
    assert await page.get_by_label("How many receives?", exact=True).input_value() == "5"
    await page.goto("/history")
    assert "CNY 9.00" not in await page.locator("main").inner_text()


async def test_buy_a_custom_amount_of_credits(page: Any) -> None:
    await sign_in(page, _user())
    await page.goto("/buy?currency=CNY")
    rules = await page.get_by_test_id("rules-credits").inner_text()
    for shown in ("CNY 10.00", "CNY 5,000.00", "CNY 1.00"):
        assert shown in rules, rules
    label = "Amount to pay for credits (CNY)"

    await ask_price(page, label, "10.50")
    said = await refused_next_to(page, "amount-credits")
    assert "plus a multiple of 1.00" in said, said
    await ask_price(page, label, "9.00")
    said = await refused_next_to(page, "amount-credits")
    assert "10.00" in said or "range" in said, said
    await ask_price(page, label, "1e3")
    assert "amount like" in await refused_next_to(page, "amount-credits")

    # 16.00 at 10 credits per 1.00.
    await ask_price(page, label, "16.00")
    await page.get_by_role("heading", name="Your price").wait_for()
    assert await page.get_by_test_id("quote-amount").inner_text() == "CNY 16.00"
    assert await page.get_by_test_id("quote-units").inner_text() == "160 credits"
    await page.locator("input[name=payment_method][value=wechat_pay_native]").check()
    await page.get_by_role("button", name="Pay CNY 16.00").click()
    await pay_in_sandbox(page)
    await eventually_balance(page, 160)


async def subscribe_to_pro(page: Any, method: str = "alipay_qr") -> None:
    """From the free plan: subscribe to Pro with `method`, pay it in the sandbox, and wait until
    the plans page says Pro."""
    await page.goto("/plans")
    await page.get_by_label("Pay Pro with").select_option(method)
    await page.get_by_role("button", name="Subscribe to Pro", exact=True).click()
    await pay_in_sandbox(page)
    await eventually_plan(page, "Pro")


async def eventually_plan(page: Any, name: str, timeout_s: float = 45) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        await page.goto("/plans")
        if (got := await page.get_by_test_id("current-plan").inner_text()) == name:
            return
        assert time.monotonic() < deadline, f"plan {got}, expected {name}"
        await page.wait_for_timeout(300)


# Stripe Checkout renews through Stripe Subscriptions; the others by an order each period.
PLAN_METHODS = [
    ("alipay_qr", "new order each period"),
    ("stripe_checkout", "Renews automatically: Stripe charges your card"),
]


@pytest.mark.parametrize(("method", "billing"), PLAN_METHODS, ids=[m[0] for m in PLAN_METHODS])
async def test_subscribe_to_pro_and_see_the_allowance(page: Any, method: str, billing: str) -> None:
    await sign_in(page, _user())
    await page.goto("/plans")
    assert await page.get_by_test_id("current-plan").inner_text() == "Basic"
    assert await page.get_by_test_id("allowance").inner_text() == "3 receives a month"
    assert await page.get_by_test_id("period-end").inner_text()
    # How each method renews is said before choosing.
    renews = await page.locator("#renews").inner_text()
    assert "Stripe charges your card every period" in renews
    assert "new order each period" in renews

    await subscribe_to_pro(page, method)
    assert await page.get_by_test_id("allowance").inner_text() == "20 receives a month"
    assert billing in await page.get_by_test_id("billing").inner_text()
    assert re.match(r"\d{4}-\d\d-\d\d ", await page.get_by_test_id("period-end").inner_text())
    assert "Your plan" in await page.get_by_test_id("plan-pro").inner_text()

    # The month's allowance is a lot of receives that expires at the month's end.
    deadline = time.monotonic() + 45
    while True:
        await page.goto("/account")
        rows = [
            [c.strip() for c in await r.locator("td").all_inner_texts()]
            for r in await page.locator("#lots-table tbody tr").all()
        ]
        allowance = [r for r in rows if r[1:5] == ["receives", "plan allowance", "active", "20"]]
        if allowance:
            break
        assert time.monotonic() < deadline, f"no allowance of 20 receives among {rows}"
        await page.wait_for_timeout(300)
    assert allowance[0][6] not in ("", "never")

    # Cancel at the period's end: shown as scheduled, and undone.
    await page.goto("/plans")
    await page.get_by_role("button", name="Cancel at the end of the period").click()
    await page.wait_for_url("**/plans?done=cancel")
    assert "your plan ends on" in await page.get_by_test_id("scheduled").inner_text()
    assert await page.get_by_test_id("current-plan").inner_text() == "Pro"
    await page.get_by_role("button", name="Keep Pro").click()
    await page.wait_for_url("**/plans?done=resume")
    assert await page.get_by_test_id("scheduled").count() == 0


async def test_pay_the_next_period_of_a_plan_renewed_by_order(page: Any, harness: Harness) -> None:
    user = _user()
    await sign_in(page, user)
    await subscribe_to_pro(page)
    assert "Pro, CNY 29.00" in await page.get_by_test_id("renewal").inner_text()
    pay_next = page.get_by_role("button", name="Pay the next period (CNY 29.00)")
    assert await pay_next.count() == 0  # not before the reminder

    # To a minute after the renewal opens (3 days before the period's end), on checkout's clock.
    r = await harness.http.get(
        f"{harness.urls['checkout']}/v1/subscription", headers=harness.auth(user)
    )
    sub = r.json()
    opens = datetime.fromisoformat(sub["renewal"]["opens_at"])
    by = int((opens - datetime.fromisoformat(sub["now"])).total_seconds()) + 60
    r = await harness.http.post(
        f"{harness.urls['checkout']}/v1/sandbox/clock/advance",
        headers=harness.auth("web-ops", admin=True),
        json={"by": f"PT{by}S"},
    )
    assert r.status_code == 200, r.text

    await page.goto("/plans")
    await pay_next.click()
    await pay_in_sandbox(page)
    deadline = time.monotonic() + 45
    while True:
        await page.goto("/plans")
        if await page.get_by_test_id("renewal-paid").count():
            break
        assert time.monotonic() < deadline, "the next period is not paid"
        await page.wait_for_timeout(300)
    assert "Next period paid: Pro" in await page.get_by_test_id("renewal-paid").inner_text()
    assert await page.get_by_test_id("current-plan").inner_text() == "Pro"


async def test_an_upgrade_preview_shows_the_prorated_amount(page: Any) -> None:
    await sign_in(page, _user())
    await subscribe_to_pro(page)

    await page.get_by_role("button", name="See the change to VIP", exact=True).click()
    await page.get_by_role("heading", name="Upgrade to VIP").wait_for()
    left_el = page.get_by_test_id("preview-left")
    left = int(await left_el.get_attribute("data-seconds-left") or "")
    period = int(await left_el.get_attribute("data-seconds-in-period") or "")
    assert 0 < left < period
    # Checkout's proration, rounded down: VIP - Pro is 30.00 CNY and 80 receives a month.
    fen = 3000 * left // period
    charge = f"CNY {fen // 100}.{fen % 100:02d}"
    assert await page.get_by_test_id("preview-charge").inner_text() == charge
    assert fen < 3000
    allowance = await page.get_by_test_id("preview-allowance").inner_text()
    assert allowance.startswith(f"+{80 * left // period} receives until ")

    # Confirming pins the preview: the upgrade's order charges exactly what it showed.
    await page.get_by_role("button", name=f"Upgrade and pay {charge}").click()
    await page.wait_for_url(re.compile(r"/pay$"))
    assert charge in await page.locator("main").inner_text()
    await pay_in_sandbox(page)
    await eventually_plan(page, "VIP")
    assert await page.get_by_test_id("allowance").inner_text() == "100 receives a month"

    # A downgrade is scheduled for the period's end, not applied now.
    await page.get_by_role("button", name="See the change to Pro", exact=True).click()
    await page.get_by_role("heading", name="Downgrade to Pro").wait_for()
    assert "Nothing is charged" in await page.get_by_test_id("preview-downgrade").inner_text()
    await page.get_by_role("button", name="Schedule the downgrade").click()
    await page.wait_for_url("**/plans?done=downgrade")
    assert "changes to Pro on" in await page.get_by_test_id("scheduled").inner_text()
    assert await page.get_by_test_id("current-plan").inner_text() == "VIP"


async def test_plans_and_quote_pages_fit_a_phone_and_every_field_has_a_label(page: Any) -> None:
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, _user())
    await page.goto("/plans")
    await fits_a_phone_with_labels(page, "/plans")
    await page.goto("/buy")
    await ask_price(page, "How many receives?", "7")
    await page.get_by_role("heading", name="Your price").wait_for()
    await fits_a_phone_with_labels(page, "the quote page")


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


# ---- saved cards and auto-recharge (issue 12's APIs on issue 13's /cards page) ---------------


async def test_cards_page_default_remove_and_auto_recharge(
    page: Any, harness: Harness, fake: Any
) -> None:
    user = _user()
    await sign_in(page, user)
    # Saved as Stripe.js would (the fake Stripe's API confirms checkout's SetupIntent).
    visa = await harness.save_card(fake, user, "pm_card_visa")
    mastercard = await harness.save_card(fake, user, "pm_card_mastercard")
    # 1,100 credits first, so setting a threshold of 500 is no crossing: "Recharge now" below
    # is the only recharge (one in flight at a time).
    order = await harness.create_order(user, "standard")
    assert (await harness.send_webhook(harness.paid_event(order, user))).status_code == 200

    async def granted() -> bool:
        return await harness.balance(user) >= 1100

    await harness.eventually(granted)

    await page.goto("/cards")
    rows = page.locator("#cards tbody tr")
    assert await rows.count() == 2
    visa_row = page.locator(f"tr[data-card={visa}]")
    mc_row = page.locator(f"tr[data-card={mastercard}]")
    assert "Visa ending 4242" in await visa_row.inner_text()
    assert "Default" in await visa_row.inner_text()
    assert "Mastercard ending 4444" in await mc_row.inner_text()
    assert re.search(r"\d\d/\d{4}", await mc_row.inner_text())

    await page.get_by_role("button", name="Make Mastercard ending 4444 the default").click()
    await page.get_by_text("That card is now your default.").wait_for()
    assert "Default" in await mc_row.inner_text()
    assert "Default" not in await visa_row.inner_text()

    await page.get_by_role("button", name="Remove Visa ending 4242").click()
    await page.get_by_text("The card was removed.").wait_for()
    assert await rows.count() == 1
    assert [m["id"] for m in await harness.saved_cards(user)] == [mastercard]

    # A bad threshold is checkout's refusal, shown next to its field; what was typed is kept.
    form = page.locator("#ar-credits form").first
    await page.get_by_label("Recharge automatically").check()
    await page.get_by_label("When my credits balance drops below", exact=True).fill("0")
    await page.get_by_label("Buy", exact=True).select_option("package:standard")
    await page.get_by_label("Currency", exact=True).select_option("USD")
    await page.get_by_label(re.compile("At most this much a month")).fill("100.00")
    await page.get_by_label("At most this many charges a day").fill("3")
    await page.get_by_label(re.compile("I allow paystream to charge my saved card")).check()
    await form.get_by_role("button", name="Save auto-recharge of credits").click()
    error = page.get_by_test_id("ar-credits-threshold-error")
    await error.wait_for()
    field = page.locator("#ar-credits-threshold")
    assert await field.get_attribute("aria-invalid") == "true"
    assert await field.input_value() == "0"
    assert "ar-credits-threshold-error" in (await field.get_attribute("aria-describedby") or "")

    await field.fill("500")
    await page.get_by_role("button", name="Save auto-recharge of credits").click()
    await page.get_by_text("Auto-recharge saved.").wait_for()
    assert await page.get_by_test_id("ar-credits-status").inner_text() == "Active"
    [setting] = (
        await harness.http.get(
            f"{harness.urls['checkout']}/v1/auto-recharge", headers=harness.auth(user)
        )
    ).json()["items"]
    assert (setting["threshold"], setting["package_id"], setting["daily_count_cap"]) == (
        500,
        "standard",
        3,
    )
    assert setting["monthly_cap"] == {"value": "100.00", "currency": "USD"}

    # Recharge now: checkout records the attempt and the page lists it.
    await page.get_by_role("button", name="Recharge credits now").click()
    await page.get_by_text("Recharge started").wait_for()
    await page.locator("#attempts tbody tr").first.wait_for()

    # A phone: no horizontal scroll, every field labelled.
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto("/cards")
    await fits_a_phone_with_labels(page, "/cards")


# ---- completing an auto-recharge the bank wants confirmed (checkout's action URL) -----------


async def recharge_needing_the_bank(harness: Harness, fake: Any, user: str, card: str) -> str:
    """A saved `card` that asks for 3-D Secure, 1,100 credits, auto-recharge below 500, then a
    spend to 400: checkout's off-session charge needs the buyer. Returns the action URL."""
    await harness.save_card(fake, user, card)
    order = await harness.create_order(user, "standard")
    assert (await harness.send_webhook(harness.paid_event(order, user))).status_code == 200

    async def granted() -> bool:
        return await harness.balance(user) >= 1100

    await harness.eventually(granted)
    checkout, ledger = harness.urls["checkout"], harness.urls["ledger"]
    body = {
        "enabled": True,
        "unit": "credits",
        "threshold": 500,
        "package_id": "standard",
        "currency": "USD",
        "monthly_cap": {"value": "100.00", "currency": "USD"},
        "daily_count_cap": 5,
        "consent_text": "Top up 1,100 credits when I drop below 500.",
    }
    r = await harness.http.put(
        f"{checkout}/v1/auto-recharge", json=body, headers=harness.auth(user)
    )
    assert r.status_code == 200, r.text

    async def threshold_set() -> bool:
        r = await harness.http.get(f"{ledger}/v1/balance-thresholds", headers=harness.auth(user))
        return [i["threshold"] for i in r.json()["items"]] == [500]

    await harness.eventually(threshold_set)
    headers = {**harness.auth(user), "Idempotency-Key": uuid.uuid4().hex}
    r = await harness.http.post(
        f"{ledger}/v1/spend", json={"credits": 700, "reason": "work"}, headers=headers
    )
    assert r.status_code in (200, 201), r.text

    async def waiting() -> str | None:
        r = await harness.http.get(f"{checkout}/v1/auto-recharge", headers=harness.auth(user))
        [setting] = r.json()["items"]
        return setting["action_url"] if setting["status"] == "requires_action" else None

    url: str = await harness.eventually(waiting, timeout_s=60)
    return url


async def test_an_auto_recharge_needing_the_bank_is_confirmed_on_the_page_and_credited(
    page: Any, harness: Harness, fake: Any, stack: Stack
) -> None:
    user = _user()
    await sign_in(page, user)
    # 4000 0027 6000 3184: always asks for 3-D Secure, on- and off-session.
    url = await recharge_needing_the_bank(harness, fake, user, "pm_card_authenticationRequired")
    # Checkout's link (what its requires_action event and /cards carry) leads to the page.
    assert url.startswith(f"{stack.web_url}/cards?order_id=")
    await page.goto(url)
    await page.wait_for_url(re.compile(r"/cards/recharge/[0-9a-f-]{36}$"))
    assert await page.get_by_test_id("recharge-title").inner_text() == (
        "Confirm this recharge with your bank"
    )
    assert "Nothing has been charged" in await page.get_by_test_id("recharge-said").inner_text()
    balance = page.get_by_test_id("recharge-balance")
    assert await balance.inner_text() == "400"
    await page.evaluate("window.__notReloaded = true")

    await page.get_by_role("button", name="Pass the bank's check (sandbox)").click()
    # Stripe's webhook, the ledger's grant: the page follows without a reload.
    await page.get_by_test_id("recharge-balance").filter(has_text="1,500").wait_for(timeout=60_000)
    assert await page.evaluate("window.__notReloaded") is True
    assert await page.get_by_test_id("recharge-title").inner_text() == (
        "Recharge confirmed and credited"
    )
    said = await page.get_by_test_id("recharge-said").inner_text()
    assert "1,100 credits are added" in said
    assert await page.get_by_role("button", name="Pass the bank's check (sandbox)").is_hidden()
    assert await harness.balance(user) == 1500

    # /cards: active again, the attempt succeeded.
    await page.goto("/cards")
    assert await page.get_by_test_id("ar-credits-status").inner_text() == "Active"


async def test_an_auto_recharge_declined_after_the_banks_check_says_so(
    page: Any, harness: Harness, fake: Any
) -> None:
    user = _user()
    await sign_in(page, user)
    # 4000 0082 6000 3178: asks for 3-D Secure, then declines (insufficient funds).
    card = "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds"
    url = await recharge_needing_the_bank(harness, fake, user, card)
    await page.goto(url)
    await page.get_by_role("button", name="Pass the bank's check (sandbox)").click()
    title = page.get_by_test_id("recharge-title")
    await title.filter(has_text="Your bank declined the payment").wait_for()
    said = await page.get_by_test_id("recharge-said").inner_text()
    assert "Your card has insufficient funds. Nothing was charged." in said
    # The buyer may try again: the buttons stay; nothing was credited.
    assert await page.get_by_role("button", name="Pass the bank's check (sandbox)").is_visible()
    assert await page.get_by_test_id("recharge-balance").inner_text() == "400"
    await page.wait_for_timeout(3000)  # a few polls: the decline stays said
    assert "insufficient funds" in await page.get_by_test_id("recharge-said").inner_text()
    assert await harness.balance(user) == 400
    await page.set_viewport_size({"width": 360, "height": 740})
    await fits_a_phone_with_labels(page, "recharge")


async def test_the_recharge_page_of_someone_elses_order_is_not_found(
    page: Any, harness: Harness
) -> None:
    other = _user()
    order = await harness.create_order(other, "standard")
    await sign_in(page, _user())
    r = await page.goto(f"/cards/recharge/{order['order_id']}")
    assert r.status == 404
    # One's own order that is no auto-recharge: not found either, said so.
    me = _user()
    mine = await harness.create_order(me, "standard")
    await sign_in(page, me)
    r = await page.goto(f"/cards/recharge/{mine['order_id']}")
    assert r.status == 404
    assert "not one of your auto-recharges" in await page.content()
