"""Settings of the invoicing service (`PAYSTREAM_*` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from paystream.shared.settings import BaseServiceSettings


class InvoicingSettings(BaseServiceSettings):
    service_name: str = "invoicing"
    http_port: int = 8004
    # The service's own database on the PostgreSQL server, and its schema migrations.
    database: str = "paystream_invoicing"
    migrations_dir: Path = Path(__file__).resolve().parents[3] / "migrations"

    # Prefixed with the service: one environment may configure all four services at once.
    # The group is a setting so tests (and a staging replay) can use their own.
    invoicing_consumer_group: str = "invoicing"
    # Off for an API-only replica: invoices are then issued by the replicas that consume.
    invoicing_run_consumer: bool = True
    # Larger than the shared default, as the ledger's: a backlog of paid orders is invoiced in
    # fewer, bigger set-based transactions (`make bench`, invoicing: 13,579 and 13,712/s against
    # 11,696 and 11,848/s with 500); when the topics are quiet, batches are as small as what
    # arrived.
    consumer_batch_max: int = Field(default=2000, ge=1)
    # Longer than the shared 20 ms: nobody waits on an invoice's tenth of a second, and at 500
    # payments/s invoicing's fetches then come in fewer, bigger batches (`make bench`, e2e:
    # 215-236 against 315-340 microseconds of invoicing CPU per payment), CPU the services on
    # the payment's path get instead.
    consumer_fetch_wait_ms: int = Field(default=100, ge=0, le=500)
    # How often a replica that consumes credits refunds left waiting beside their invoice (see
    # `service.settle_waiting_refunds`): one look in the pending refunds' partial index.
    invoicing_waiting_refunds_interval_s: float = Field(default=30.0, gt=0)

    # The seller on every invoice and credit note (captured on each document as it is issued).
    seller_name: str = "paystream sandbox seller"
    seller_address: str = "1 Example Street\nExample City"
    seller_tax_id: str = ""
    seller_email: str = ""
    # A tax included in the prices, shown on the documents (e.g. "VAT", 2000 = 20.00 %); none
    # when the name is empty.
    tax_name: str = ""
    tax_rate_bp: int = Field(default=0, ge=0, le=10_000)
    # Fonts of the PDFs: one that covers what people type in names and addresses (Latin, Greek,
    # Cyrillic, Chinese, Japanese, Korean: Debian's fonts-wqy-microhei, a TrueType collection),
    # and a bold one for our own Latin labels (fonts-dejavu-core). `make run` and `make test`
    # install both. Only the glyphs a document uses are embedded in it.
    pdf_font: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    pdf_font_collection_number: int = Field(default=0, ge=0)
    pdf_bold_font: Path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
