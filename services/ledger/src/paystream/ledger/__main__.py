"""`python -m paystream.ledger`: run the ledger service."""

from __future__ import annotations

from paystream.ledger.app import create_app
from paystream.ledger.settings import LedgerSettings
from paystream.shared.http import serve


def main() -> None:
    settings = LedgerSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
