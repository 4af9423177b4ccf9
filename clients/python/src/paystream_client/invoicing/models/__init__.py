"""Contains all the data models used in inputs/outputs"""

from .advance_in import AdvanceIn
from .billing_profile_in import BillingProfileIn
from .billing_profile_out import BillingProfileOut
from .clock_out import ClockOut
from .credit_note_list import CreditNoteList
from .credit_note_out import CreditNoteOut
from .credit_note_ref import CreditNoteRef
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .invoice_list import InvoiceList
from .invoice_out import InvoiceOut
from .money_out import MoneyOut
from .revenue_row import RevenueRow
from .revenue_stats import RevenueStats
from .revenue_total import RevenueTotal

__all__ = (
    "AdvanceIn",
    "BillingProfileIn",
    "BillingProfileOut",
    "ClockOut",
    "CreditNoteList",
    "CreditNoteOut",
    "CreditNoteRef",
    "ErrorDetail",
    "ErrorResponse",
    "InvoiceList",
    "InvoiceOut",
    "MoneyOut",
    "RevenueRow",
    "RevenueStats",
    "RevenueTotal",
)
