"""Loading the catalog at startup: the default packaged with checkout, or the operator's file
(`PAYSTREAM_CATALOG_FILE`). A bad file stops checkout with a clear error."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from paystream.checkout.catalog.domain import Catalog, CatalogError, parse_catalog

# Next to this module, packaged with checkout.
DEFAULT_CATALOG = "catalog.default.json"


def load_catalog(path: Path | None = None) -> Catalog:
    """Load the catalog from `path`, or the default packaged with checkout."""
    if path is None:
        text = (
            resources.files("paystream.checkout.catalog")
            .joinpath(DEFAULT_CATALOG)
            .read_text("utf-8")
        )
        return parse_catalog(text, f"(packaged {DEFAULT_CATALOG})")
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read catalog file {path}: {exc}") from None
    return parse_catalog(text, str(path))
