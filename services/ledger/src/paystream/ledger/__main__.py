"""`python -m paystream.ledger`: run the ledger service; `python -m paystream.ledger restore`:
restore its database from `ledger.events` (the service stopped; see journal/restore.py)."""

from __future__ import annotations

import sys

from paystream.ledger.app import create_app
from paystream.ledger.settings import LedgerSettings
from paystream.shared.http import serve


def main() -> None:
    if sys.argv[1:] == ["restore"]:
        from paystream.ledger.journal.restore import main as restore

        restore()
        return
    if sys.argv[1:]:
        raise SystemExit("usage: python -m paystream.ledger [restore]")
    settings = LedgerSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
