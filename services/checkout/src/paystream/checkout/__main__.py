"""`python -m paystream.checkout`: serve checkout (HTTP, consumer, outbox relay)."""

from __future__ import annotations

from paystream.checkout.app import create_app
from paystream.checkout.settings import CheckoutSettings
from paystream.shared.http import serve


def main() -> None:
    settings = CheckoutSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
