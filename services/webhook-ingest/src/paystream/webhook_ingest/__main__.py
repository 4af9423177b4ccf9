"""`python -m paystream.webhook_ingest`: run the webhook-ingest service."""

from __future__ import annotations

from paystream.shared.http import serve
from paystream.webhook_ingest.app import create_app
from paystream.webhook_ingest.settings import WebhookIngestSettings


def main() -> None:
    settings = WebhookIngestSettings()
    app = create_app(settings)
    serve(app, settings)


if __name__ == "__main__":
    main()
