"""Checkout settings: the shared `PAYSTREAM_*` settings with checkout's own defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, Field, SecretStr

from paystream.checkout.quotes.signing import DEV_QUOTE_KEY
from paystream.checkout.second_payments.domain import SecondPaymentPolicy
from paystream.shared.settings import BaseServiceSettings, weak_secret


class CheckoutSettings(BaseServiceSettings):
    service_name: str = "checkout"
    http_port: int = 8001
    # The service's own database on the PostgreSQL server, and its schema migrations.
    database: str = "paystream_checkout"
    migrations_dir: Path = Path(__file__).resolve().parents[3] / "migrations"

    # The catalog is configuration: a JSON file; unset means the default packaged with checkout.
    catalog_file: Path | None = None

    # Stripe's API (https://api.stripe.com; stripe-mock locally), the secret key checkout calls
    # it with, and how long one call may take.
    stripe_api_base: str = "http://127.0.0.1:12111"
    stripe_secret_key: SecretStr = SecretStr("sk_test_123")
    stripe_timeout_s: float = Field(default=10.0, gt=0)
    # Where balance transactions (the daily settlement) are read; unset: stripe_api_base. Only
    # for local stacks: stripe-mock keeps no state, so a fake serves them (devtools).
    stripe_balance_api_base: str | None = None
    # Retries of a session creation are safe: every attempt carries an idempotency key.
    stripe_max_network_retries: int = Field(default=2, ge=0)

    # Stripe accepts a Checkout Session lifetime between 30 minutes and 24 hours, measured from
    # its own clock: the default keeps a minute of margin for clock drift between us and Stripe.
    order_ttl_minutes: int = Field(default=31, ge=31, le=24 * 60 - 1)
    # Where Stripe sends the customer back when the request names no return_url.
    default_return_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:3000/checkout/return")

    # Hosts a request's return_url may name besides default_return_url's (exact host names, or
    # `*.example.com` for its subdomains). Any other host is refused (422 return_url_not_allowed):
    # the provider's genuine page must not redirect a payer to whoever wrote the request.
    return_url_hosts: list[str] = Field(default_factory=list)

    # Per user: open (pending) orders, and orders created per window; over either, 429 with
    # Retry-After. Each order opens a provider session, and a USDT order holds an exact amount
    # of a pool of about usdt_amount_offset_max.
    max_open_orders_per_user: int = Field(default=10, ge=1, le=10_000)
    max_orders_per_user_per_window: int = Field(default=60, ge=1, le=100_000)
    order_rate_window_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600)

    # Pending orders past their expiry are marked expired by a periodic sweep. The grace lets a
    # payment submitted just before the session expired arrive first and avoids a
    # pending -> expired -> paid flap (a late payment is still recorded, see domain.py).
    order_expiry_sweep_s: float = Field(default=60.0, gt=0)
    order_expiry_grace_s: int = Field(default=300, ge=0)

    # Asking the providers (orders/sync.py, reconcile/). A sync of one order at most this often.
    order_sync_min_interval_s: float = Field(default=5.0, gt=0)
    # The reconciler runs every interval; it asks about pending orders older than the order age
    # (their notification should have come) and pending refunds older than the refund age, each
    # again after backoff * 2^attempts, at most backoff_max apart. 0 disables it. The refund age
    # should exceed the longest refund call (a provider's timeout times its attempts), so the
    # reconciler does not ask while checkout's own request is still waiting (harmless: every
    # refund request is idempotent, but a wasted call).
    reconcile_interval_s: float = Field(default=30.0, ge=0)
    reconcile_order_min_age_s: float = Field(default=600.0, ge=0)
    reconcile_refund_min_age_s: float = Field(default=60.0, ge=0)
    reconcile_backoff_s: float = Field(default=60.0, gt=0, le=86400)
    reconcile_backoff_max_s: float = Field(default=3600.0, gt=0)
    reconcile_batch: int = Field(default=100, ge=1, le=1000)

    # The daily settlement (settlement/): every day after this hour (UTC) the day before is
    # matched against each configured provider's settlement data (Stripe balance transactions,
    # Alipay's and WeChat Pay's bills; theirs are ready the next morning Beijing time). None
    # disables the scheduled run; `paystream reconcile --date` runs it by hand.
    settlement_hour_utc: int | None = Field(default=4, ge=0, le=23)
    settlement_check_s: float = Field(default=600.0, gt=0)

    # Quotes and subscription change previews are signed with this key (HMAC-SHA256) and expire
    # after quote_ttl_s on checkout's clock. Outside sandbox mode checkout refuses to start with
    # the development default or a key shorter than 32 bytes.
    quote_key: SecretStr = SecretStr(DEV_QUOTE_KEY)
    quote_ttl_s: int = Field(default=900, ge=60, le=24 * 3600)

    # Subscriptions. Plans paid without recurring charges (Alipay, WeChat Pay, USDT) are
    # reminded this many days before their period ends (SubscriptionRenewalDueV1) and drop to the
    # free plan this many days after it ended unpaid. Times are checkout's clock.
    renewal_reminder_days: int = Field(default=3, ge=0, le=27)
    renewal_grace_days: int = Field(default=3, ge=0, le=60)
    # How often the sweep looks for subscriptions with something due, and how often changed
    # Stripe-billed subscriptions are pushed to Stripe.
    subscription_sweep_s: float = Field(default=30.0, gt=0)
    stripe_subscription_sync_s: float = Field(default=10.0, gt=0)

    # The group is a setting so tests (and a staging replay) can use their own.
    checkout_consumer_group: str = "checkout"

    # USDT (TRC20)
    # Deposits go to one merchant address; unset means usdt_trc20 is not offered.
    usdt_deposit_address: str | None = None
    usdt_contract_address: str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"  # Tether USD on TRON
    usdt_api_base: str = "https://api.trongrid.io"
    usdt_api_key: SecretStr | None = None  # sent as TRON-PRO-API-KEY
    usdt_timeout_s: float = Field(default=10.0, gt=0)
    usdt_poll_interval_s: float = Field(default=15.0, gt=0)
    usdt_page_size: int = Field(default=200, ge=1, le=200)
    # The unique offset added to each price, in micro-USDT (1..max); max+1 open orders at most.
    usdt_amount_offset_max: int = Field(default=999, ge=1, le=999_999)
    # A released amount is not handed out again for this long, nor for usdt_late_window_s if
    # longer (a late transfer for it could still arrive), so a late or repeated transfer is not
    # taken for a newer order's payment.
    usdt_amount_cooldown_s: int = Field(default=24 * 3600, ge=0)
    # A transfer this long after its deposit was released still counts as that order's (late).
    usdt_late_window_s: int = Field(default=7 * 24 * 3600, ge=0)
    # An open deposit this long past its expiry is released by the allocator (checkout missed
    # closing it).
    usdt_reclaim_after_s: int = Field(default=24 * 3600, ge=0)
    # Each poll re-reads this much before its cursor: TronGrid's index may lag the chain.
    usdt_cursor_overlap_s: int = Field(default=120, ge=0)
    # Overpaid transfers are credited (money >= price was taken) and flagged; False only flags.
    usdt_credit_overpaid: bool = True

    # WeChat Pay (API v3, Native); wechatpay_mchid unset means wechat_pay_native is not offered.
    # PEM values may be `@<path>`. The merchant key signs requests (its certificate's serial is
    # sent as serial_no); the platform public key (id PUB_KEY_ID_...) verifies every answer.
    wechatpay_api_base: str = "https://api.mch.weixin.qq.com"
    wechatpay_mchid: str | None = None
    wechatpay_appid: str | None = None
    wechatpay_merchant_private_key: SecretStr | None = None
    wechatpay_merchant_serial_no: str | None = None
    wechatpay_platform_public_key: str | None = None
    wechatpay_platform_public_key_id: str | None = None
    # Where WeChat Pay sends payment and refund notifications (webhook-ingest's route).
    wechatpay_notify_url: str | None = None
    wechatpay_timeout_s: float = Field(default=10.0, gt=0)

    # Alipay
    # Unset app id or keys: alipay_qr / alipay_page are not offered. Keys are PEM, Alipay's bare
    # base64, or `@<path>`: our application's private key signs requests, Alipay's public key
    # verifies its answers. The notify URL is webhook-ingest's POST /webhooks/alipay as Alipay
    # reaches it.
    alipay_gateway_url: str = "https://openapi.alipay.com/gateway.do"
    alipay_app_id: str | None = None
    alipay_private_key: SecretStr | None = None
    alipay_public_key: str | None = None
    alipay_notify_url: str | None = None
    alipay_timeout_s: float = Field(default=10.0, gt=0)

    # Auto-recharge (issue 12). A transient decline is charged again after backoff * 2^(tries-1),
    # at most backoff_max apart, max_tries charges in all, then auto-recharge is disabled. The
    # worker looks for due attempts every poll interval (and at once when the consumer records
    # one); a claimed attempt whose worker died is taken again after the lease. The action URL
    # is where a user completes a charge their bank wants to authenticate (`order_id` added).
    auto_recharge_max_tries: int = Field(default=4, ge=1, le=20)
    auto_recharge_backoff_s: float = Field(default=300.0, gt=0, le=7 * 86400)
    auto_recharge_backoff_max_s: float = Field(default=6 * 3600.0, gt=0, le=30 * 86400)
    auto_recharge_poll_s: float = Field(default=5.0, gt=0, le=3600)
    # The reader of ledger.events (balance.low among every grant and spend) fetches what came in
    # this long: a recharge starts at most this much later, in far fewer batches than the 20 ms
    # of the consumers on the payment's path (`consumer_fetch_wait_ms`).
    auto_recharge_fetch_wait_ms: int = Field(default=100, ge=0, le=500)
    auto_recharge_lease_s: float = Field(default=120.0, gt=0, le=3600)
    auto_recharge_action_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000/cards")
    # A second payment for an order already paid (issue 15): `refund` it in full through the
    # provider (the default), `credit` it as a new order of the same content (only when it paid
    # exactly the order's price and the order is not a plan's; otherwise it is held), or only
    # hold it for an operator's `review`. An operator's review records it whatever the policy.
    # The refunder asks the providers for those refunds every interval.
    second_payment_policy: SecondPaymentPolicy = SecondPaymentPolicy.REFUND
    second_payment_refund_poll_s: float = Field(default=5.0, gt=0, le=3600)
    # Where the saved-card calls (customers, SetupIntents, PaymentMethods, off-session charges)
    # go; unset: stripe_api_base. The end-to-end tests point it at the stateful fake Stripe
    # (devtools) while one-off payments keep stripe-mock's fixtures; in production leave it unset.
    stripe_customers_api_base: str | None = None

    def development_secrets(self) -> list[str]:
        found = super().development_secrets()
        if weak_secret(self.stripe_secret_key.get_secret_value(), "sk_test_123"):
            found.append("PAYSTREAM_STRIPE_SECRET_KEY")
        return found
