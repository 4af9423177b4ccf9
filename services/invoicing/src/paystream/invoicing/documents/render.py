"""Render an invoice or a credit note as a PDF (fpdf2): pure, the facts in, the bytes out.

fpdf2 embeds only the glyphs a document uses (a few kB of a CJK font, not its megabytes) and
writes a ToUnicode map, so the text of every field, Chinese included, can be searched, copied
and read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF

from paystream.shared.money import Money

PROVIDER_NAMES = {
    "stripe": "Stripe",
    "alipay": "Alipay",
    "wechatpay": "WeChat Pay",
    "usdt_trc20": "USDT (TRC20)",
}


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    address: str = ""
    tax_id: str = ""
    email: str = ""

    @classmethod
    def of(cls, snapshot: dict[str, Any] | None, *, name_key: str, fallback: str) -> Party:
        if not snapshot:
            return cls(name=fallback)
        return cls(
            name=str(snapshot.get(name_key) or fallback),
            address=str(snapshot.get("address") or ""),
            tax_id=str(snapshot.get("tax_id") or ""),
            email=str(snapshot.get("email") or ""),
        )


@dataclass(frozen=True, slots=True)
class Tax:
    name: str
    rate_bp: int  # basis points: 2000 = 20.00 %

    @property
    def label(self) -> str:
        whole, frac = divmod(self.rate_bp, 100)
        rate = f"{whole}" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")
        return f"{self.name} {rate}%"

    @classmethod
    def of(cls, snapshot: dict[str, Any] | None) -> Tax | None:
        if not snapshot or not snapshot.get("tax_name"):
            return None
        return cls(str(snapshot["tax_name"]), int(snapshot.get("tax_rate_bp") or 0))


def split_tax(gross: Money, tax: Tax | None) -> tuple[Money, Money]:
    """(net, tax) of a tax-inclusive amount, the tax rounded half up to the minor unit."""
    if tax is None or tax.rate_bp == 0:
        return gross, Money.zero(gross.currency)
    denominator = 10_000 + tax.rate_bp
    tax_minor = (2 * gross.minor * tax.rate_bp + denominator) // (2 * denominator)
    return Money(gross.minor - tax_minor, gross.currency), Money(tax_minor, gross.currency)


def money_text(m: Money) -> str:
    """`CNY 1,234.50`: the currency's own number of decimals, never a float."""
    whole, _, frac = m.format().partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = f"{int(whole.lstrip('-')):,}"
    return f"{m.currency} {sign}{grouped}{'.' + frac if frac else ''}"


def date_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class Line:
    description: str
    quantity: int
    unit_price: Money
    amount: Money


@dataclass(frozen=True, slots=True)
class Document:
    """What a PDF shows; built from an invoice or a credit note and their captured parties."""

    kind: str  # "Invoice" or "Credit note"
    number: str
    seller: Party
    buyer: Party
    facts: list[tuple[str, str]]  # (label, value): dates, order, payment, what it corrects
    lines: list[Line]
    total: Money
    tax: Tax | None
    notes: list[str] = field(default_factory=list)
    issued_at: datetime | None = None


class Fonts:
    """The font files, checked once: a missing file is a configuration error at startup."""

    def __init__(self, regular: Path, bold: Path, collection_number: int = 0) -> None:
        missing = [str(p) for p in (regular, bold) if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                "PDF fonts not found: "
                + ", ".join(missing)
                + " (install Debian's fonts-wqy-microhei and fonts-dejavu-core, or set"
                " PAYSTREAM_PDF_FONT / PAYSTREAM_PDF_BOLD_FONT)"
            )
        self.regular = regular
        self.bold = bold
        self.collection_number = collection_number


def render(doc: Document, fonts: Fonts) -> bytes:
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title(f"{doc.kind} {doc.number}")
    pdf.set_author(doc.seller.name)
    pdf.set_creator("paystream invoicing")
    if doc.issued_at is not None:
        # The same document renders to the same bytes whenever it is asked for.
        pdf.set_creation_date(doc.issued_at)
    # One font for every text a person typed (names, addresses): WenQuanYi Micro Hei covers
    # Latin, Greek, Cyrillic and CJK alike. fpdf2's per-character fallback between two fonts drew
    # the lines after a CJK line with the wrong glyphs (2.8.9), so no fallback is used. The bold
    # font only draws our own Latin labels.
    pdf.add_font("f0", "", str(fonts.regular), collection_font_number=fonts.collection_number)
    pdf.add_font("bold", "", str(fonts.bold))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("bold", "", 20)
    pdf.cell(width / 2, 10, doc.kind.upper())
    pdf.set_font("bold", "", 12)
    pdf.cell(width / 2, 10, doc.number, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    top = pdf.get_y()
    _party(pdf, "From", doc.seller, x=pdf.l_margin, width=width / 2 - 4)
    left_bottom = pdf.get_y()
    pdf.set_y(top)
    _party(pdf, "Bill to", doc.buyer, x=pdf.l_margin + width / 2 + 4, width=width / 2 - 4)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)

    pdf.set_font("f0", "", 9)
    for label, value in doc.facts:
        pdf.set_font("bold", "", 9)
        pdf.cell(45, 5.5, label)
        pdf.set_font("f0", "", 9)
        pdf.multi_cell(width - 45, 5.5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)

    cols = (width - 25 - 35 - 35, 25, 35, 35)
    pdf.set_font("bold", "", 9)
    pdf.set_fill_color(235, 238, 242)
    for text, w, align in zip(
        ("Description", "Quantity", "Unit price", "Amount"), cols, "LRRR", strict=True
    ):
        pdf.cell(w, 7, text, align=align, fill=True)
    pdf.ln(7)
    pdf.set_font("f0", "", 9)
    for line in doc.lines:
        pdf.cell(cols[0], 7, line.description)
        pdf.cell(cols[1], 7, str(line.quantity), align="R")
        pdf.cell(cols[2], 7, money_text(line.unit_price), align="R")
        pdf.cell(cols[3], 7, money_text(line.amount), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(2)

    net, tax = split_tax(doc.total, doc.tax)
    totals: list[tuple[str, Money]] = []
    if doc.tax is not None:
        totals += [("Net", net), (doc.tax.label, tax)]
    totals.append((f"Total ({doc.total.currency})", doc.total))
    for i, (label, amount) in enumerate(totals):
        last = i == len(totals) - 1
        pdf.set_font("bold" if last else "f0", "", 10 if last else 9)
        pdf.cell(width - 35, 6.5, label, align="R")
        pdf.cell(35, 6.5, money_text(amount), align="R", new_x="LMARGIN", new_y="NEXT")
    if doc.tax is not None:
        pdf.set_font("f0", "", 8)
        pdf.cell(width, 5, f"Prices include {doc.tax.label}.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("f0", "", 8)
    for note in doc.notes:
        pdf.multi_cell(width, 4.5, note, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _party(pdf: FPDF, title: str, party: Party, *, x: float, width: float) -> None:
    pdf.set_x(x)
    pdf.set_font("bold", "", 8)
    pdf.set_text_color(90, 96, 105)
    pdf.cell(width, 5, title.upper(), new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("f0", "", 11)
    pdf.multi_cell(width, 5.5, party.name, new_x="LEFT", new_y="NEXT")
    pdf.set_font("f0", "", 9)
    for text in (
        party.address,
        f"Tax ID: {party.tax_id}" if party.tax_id else "",
        party.email,
    ):
        if text:
            pdf.multi_cell(width, 5, text, new_x="LEFT", new_y="NEXT")
