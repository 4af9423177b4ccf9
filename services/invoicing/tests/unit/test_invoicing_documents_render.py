"""The pure rules of the documents: the tax inside a price, amounts as text, the tax label."""

from __future__ import annotations

import pytest

from paystream.invoicing.documents.render import Tax, money_text, split_tax
from paystream.shared.money import Money


@pytest.mark.parametrize(
    ("gross", "bp", "net", "tax"),
    [
        (Money(10_000, "CNY"), 600, 9434, 566),  # 100.00 incl. 6 %: 5.66
        (Money(2_500, "CNY"), 600, 2358, 142),
        (Money(1_400, "USD"), 2000, 1167, 233),  # 14.00 incl. 20 %: 2.333.. -> 2.33
        (Money(3, "EUR"), 2000, 2, 1),  # 0.5 rounds half up
        (Money(139_000_123, "USDT"), 1000, 126_363_748, 12_636_375),
        (Money(1000, "JPY"), 1000, 909, 91),
    ],
)
def test_the_tax_inside_a_price_adds_up_to_it(gross: Money, bp: int, net: int, tax: int) -> None:
    n, t = split_tax(gross, Tax("VAT", bp))
    assert (n.minor, t.minor) == (net, tax)
    assert n + t == gross


def test_no_tax_configured_is_all_net() -> None:
    assert split_tax(Money(999, "GBP"), None) == (Money(999, "GBP"), Money(0, "GBP"))
    assert Tax.of({"tax_name": "", "tax_rate_bp": 600}) is None


def test_amounts_keep_the_currencys_decimals() -> None:
    assert money_text(Money(123_450, "CNY")) == "CNY 1,234.50"
    assert money_text(Money(14_000_123, "USDT")) == "USDT 14.000123"
    assert money_text(Money(1_500, "JPY")) == "JPY 1,500"
    assert money_text(Money(-2_500, "EUR")) == "EUR -25.00"


def test_tax_labels() -> None:
    assert Tax("VAT", 2000).label == "VAT 20%"
    assert Tax("GST", 825).label == "GST 8.25%"
    assert Tax("VAT", 550).label == "VAT 5.5%"
