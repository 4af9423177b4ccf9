"""The provider sandbox of a local stack: keys, the fakes' ports, and the settings that join them.

`make run`, the end-to-end tests and the demo run checkout and webhook-ingest against local fakes
of Alipay, WeChat Pay and TronGrid (see `paystream.devtools.fakes`). Each environment gets its
own RSA keys, made once and kept in `<run dir>/keys/` (git-ignored; never committed): the
merchant's keys (ours: they sign our requests), and the providers' keys (the fakes sign with them;
our services verify with the public halves). `service_env()` is what the services need,
`fake_env()` what the fakes need; both are plain `PAYSTREAM_*` environment variables, the same
ones an operator sets in production with the provider's real values.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Offsets from the stack's port base, after the four services (1..4).
FAKES: tuple[tuple[str, str, int], ...] = (
    ("fake-alipay", "paystream.devtools.fakes.alipay", 5),
    ("fake-wechatpay", "paystream.devtools.fakes.wechatpay", 6),
    ("fake-trongrid", "paystream.devtools.fakes.trongrid", 7),
    # A Stripe that can decline and ask for 3-D Secure (issue 12). Checkout still calls
    # stripe-mock unless PAYSTREAM_STRIPE_API_BASE is set to this fake's URL.
    ("fake-stripe", "paystream.devtools.fakes.stripe", 8),
)

ALIPAY_APP_ID = "2021000000000001"
WECHATPAY_MCHID = "1900000001"
WECHATPAY_APPID = "wx0000000000000001"
WECHATPAY_MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
WECHATPAY_PLATFORM_KEY_ID = "PUB_KEY_ID_0000000000000000000000000001"
# A syntactically valid TRON address for the merchant's deposits (base58, 34 chars, T...).
USDT_DEPOSIT_ADDRESS = "TLsV52sRDL79HXGGm9yzwKibb6BeruhUzy"


def _pem_pair(path: Path) -> tuple[str, str]:
    """(private PKCS#8 PEM, public SPKI PEM), made once at `path` and reused."""
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        tmp.rename(path)
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path.read_text(), public.decode()


def _secret(path: Path, nbytes: int) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(nbytes // 2))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class Sandbox:
    port_base: int
    run_dir: Path
    alipay_merchant: tuple[str, str]
    alipay_platform: tuple[str, str]
    wechatpay_merchant: tuple[str, str]
    wechatpay_platform: tuple[str, str]
    wechatpay_apiv3_key: str

    @classmethod
    def create(cls, run_dir: Path, port_base: int) -> Sandbox:
        keys = run_dir / "keys"
        return cls(
            port_base=port_base,
            run_dir=run_dir,
            alipay_merchant=_pem_pair(keys / "alipay-merchant.pem"),
            alipay_platform=_pem_pair(keys / "alipay-platform.pem"),
            wechatpay_merchant=_pem_pair(keys / "wechatpay-merchant.pem"),
            wechatpay_platform=_pem_pair(keys / "wechatpay-platform.pem"),
            wechatpay_apiv3_key=_secret(keys / "wechatpay-apiv3.key", 32),
        )

    def url(self, name: str) -> str:
        off = next(o for n, _, o in FAKES if n == name)
        return f"http://127.0.0.1:{self.port_base + off}"

    @property
    def webhook_ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.port_base + 2}"

    def service_env(self) -> dict[str, str]:
        """What checkout and webhook-ingest are configured with (the same names in production)."""
        return {
            "PAYSTREAM_ALIPAY_GATEWAY_URL": f"{self.url('fake-alipay')}/gateway.do",
            "PAYSTREAM_ALIPAY_APP_ID": ALIPAY_APP_ID,
            "PAYSTREAM_ALIPAY_PRIVATE_KEY": self.alipay_merchant[0],
            "PAYSTREAM_ALIPAY_PUBLIC_KEY": self.alipay_platform[1],
            "PAYSTREAM_ALIPAY_NOTIFY_URL": f"{self.webhook_ingest_url}/webhooks/alipay",
            "PAYSTREAM_WECHATPAY_API_BASE": self.url("fake-wechatpay"),
            "PAYSTREAM_WECHATPAY_MCHID": WECHATPAY_MCHID,
            "PAYSTREAM_WECHATPAY_APPID": WECHATPAY_APPID,
            "PAYSTREAM_WECHATPAY_MERCHANT_PRIVATE_KEY": self.wechatpay_merchant[0],
            "PAYSTREAM_WECHATPAY_MERCHANT_SERIAL_NO": WECHATPAY_MERCHANT_SERIAL,
            "PAYSTREAM_WECHATPAY_PLATFORM_PUBLIC_KEY": self.wechatpay_platform[1],
            "PAYSTREAM_WECHATPAY_PLATFORM_PUBLIC_KEY_ID": WECHATPAY_PLATFORM_KEY_ID,
            "PAYSTREAM_WECHATPAY_APIV3_KEY": self.wechatpay_apiv3_key,
            "PAYSTREAM_WECHATPAY_NOTIFY_URL": f"{self.webhook_ingest_url}/webhooks/wechatpay",
            "PAYSTREAM_USDT_DEPOSIT_ADDRESS": USDT_DEPOSIT_ADDRESS,
            "PAYSTREAM_USDT_API_BASE": self.url("fake-trongrid"),
            "PAYSTREAM_USDT_POLL_INTERVAL_S": "0.5",
        }

    def fake_env(self) -> dict[str, str]:
        """What the fakes are configured with: the providers' side of the same keys."""
        return {
            "PAYSTREAM_FAKE_ALIPAY_PRIVATE_KEY": self.alipay_platform[0],
            "PAYSTREAM_FAKE_ALIPAY_MERCHANT_PUBLIC_KEY": self.alipay_merchant[1],
            "PAYSTREAM_FAKE_ALIPAY_APP_ID": ALIPAY_APP_ID,
            "PAYSTREAM_FAKE_WECHATPAY_PLATFORM_PRIVATE_KEY": self.wechatpay_platform[0],
            "PAYSTREAM_FAKE_WECHATPAY_PLATFORM_PUBLIC_KEY_ID": WECHATPAY_PLATFORM_KEY_ID,
            "PAYSTREAM_FAKE_WECHATPAY_MERCHANT_PUBLIC_KEY": self.wechatpay_merchant[1],
            "PAYSTREAM_FAKE_WECHATPAY_MCHID": WECHATPAY_MCHID,
            "PAYSTREAM_FAKE_WECHATPAY_APPID": WECHATPAY_APPID,
            "PAYSTREAM_FAKE_WECHATPAY_MERCHANT_SERIAL_NO": WECHATPAY_MERCHANT_SERIAL,
            "PAYSTREAM_FAKE_WECHATPAY_APIV3_KEY": self.wechatpay_apiv3_key,
            # Blocks every 0.3 s, solidified 3 blocks behind: a deposit settles in about a
            # second instead of TRON's minute, so the demo and the tests do not wait.
            "TRONGRID_FAKE_BLOCK_INTERVAL": "0.3",
            "TRONGRID_FAKE_SOLID_LAG": "3",
            # The Stripe fake delivers its events to webhook-ingest (signed with the first of
            # PAYSTREAM_STRIPE_WEBHOOK_SECRETS, else ingest's default) and has stripe-mock, where
            # one runs, check every request first.
            "PAYSTREAM_FAKE_STRIPE_WEBHOOK_URL": f"{self.webhook_ingest_url}/webhooks/stripe",
            "PAYSTREAM_FAKE_STRIPE_MOCK_URL": os.environ.get("PAYSTREAM_STRIPE_API_BASE", ""),
        }
