"""`python -m paystream.webhook_ingest`: run the webhook-ingest service."""

from __future__ import annotations

from paystream.notifications.providers.stripe.settings import DEV_WEBHOOK_SECRET, StripeSettings
from paystream.shared.http import serve
from paystream.shared.settings import weak_secret
from paystream.webhook_ingest.app import create_app
from paystream.webhook_ingest.settings import WebhookIngestSettings


def main() -> None:
    settings = WebhookIngestSettings()
    if not settings.sandbox:
        stripe = StripeSettings.load()
        if stripe is not None and any(weak_secret(s, DEV_WEBHOOK_SECRET) for s in stripe.secrets()):
            raise SystemExit(
                "refusing to start outside sandbox mode: PAYSTREAM_STRIPE_WEBHOOK_SECRETS holds "
                "the development default or a secret shorter than 32 characters (anyone could "
                "sign a paid webhook with it)"
            )
    app = create_app(settings)
    serve(app, settings)


if __name__ == "__main__":
    main()
