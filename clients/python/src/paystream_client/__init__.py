"""Typed clients of the paystream services, generated from docs/api/*.json by
openapi-python-client (`make openapi`; do not edit): one sub-package per service,
each with its `Client` / `AuthenticatedClient` and one module per operation under `api/`."""

__all__ = ["checkout", "invoicing", "ledger", "webhook_ingest"]
