"""`python -m paystream.invoicing`: serve the invoicing API and consumer."""

from __future__ import annotations

from paystream.invoicing.app import create_app
from paystream.invoicing.settings import InvoicingSettings
from paystream.shared.http import serve


def main() -> None:
    settings = InvoicingSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
