"""Contains all the data models used in inputs/outputs"""

from .advance_in import AdvanceIn
from .balance_out import BalanceOut
from .capture_in import CaptureIn
from .clock_out import ClockOut
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .grant_in import GrantIn
from .grant_in_source import GrantInSource
from .hold_in import HoldIn
from .hold_out import HoldOut
from .hold_out_status import HoldOutStatus
from .hold_page import HoldPage
from .jobs_out import JobsOut
from .list_holds_status_type_0 import ListHoldsStatusType0
from .list_lots_status_type_0 import ListLotsStatusType0
from .list_refunds_status_type_0 import ListRefundsStatusType0
from .list_transactions_type_type_0_item import ListTransactionsTypeType0Item
from .lot_amount_out import LotAmountOut
from .lot_out import LotOut
from .lot_out_status import LotOutStatus
from .lot_page import LotPage
from .money_out import MoneyOut
from .next_expiry import NextExpiry
from .refund_item import RefundItem
from .refund_item_status import RefundItemStatus
from .refund_page import RefundPage
from .spend_in import SpendIn
from .spend_out import SpendOut
from .threshold_in import ThresholdIn
from .threshold_list import ThresholdList
from .threshold_out import ThresholdOut
from .transaction_item import TransactionItem
from .transaction_item_kind import TransactionItemKind
from .transaction_page import TransactionPage
from .unit_balance_out import UnitBalanceOut
from .void_in import VoidIn

__all__ = (
    "AdvanceIn",
    "BalanceOut",
    "CaptureIn",
    "ClockOut",
    "ErrorDetail",
    "ErrorResponse",
    "GrantIn",
    "GrantInSource",
    "HoldIn",
    "HoldOut",
    "HoldOutStatus",
    "HoldPage",
    "JobsOut",
    "ListHoldsStatusType0",
    "ListLotsStatusType0",
    "ListRefundsStatusType0",
    "ListTransactionsTypeType0Item",
    "LotAmountOut",
    "LotOut",
    "LotOutStatus",
    "LotPage",
    "MoneyOut",
    "NextExpiry",
    "RefundItem",
    "RefundItemStatus",
    "RefundPage",
    "SpendIn",
    "SpendOut",
    "ThresholdIn",
    "ThresholdList",
    "ThresholdOut",
    "TransactionItem",
    "TransactionItemKind",
    "TransactionPage",
    "UnitBalanceOut",
    "VoidIn",
)
