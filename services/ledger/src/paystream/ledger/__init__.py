"""The ledger service: a double-entry credit ledger fed by payments, spent over HTTP."""
