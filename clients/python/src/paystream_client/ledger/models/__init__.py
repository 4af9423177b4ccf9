"""Contains all the data models used in inputs/outputs"""

from .balance_response import BalanceResponse
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .list_refunds_status_type_0 import ListRefundsStatusType0
from .money_out import MoneyOut
from .refund_item import RefundItem
from .refund_item_status import RefundItemStatus
from .refund_page import RefundPage
from .spend_request import SpendRequest
from .spend_response import SpendResponse
from .transaction_item import TransactionItem
from .transaction_item_kind import TransactionItemKind
from .transaction_page import TransactionPage

__all__ = (
    "BalanceResponse",
    "ErrorDetail",
    "ErrorResponse",
    "ListRefundsStatusType0",
    "MoneyOut",
    "RefundItem",
    "RefundItemStatus",
    "RefundPage",
    "SpendRequest",
    "SpendResponse",
    "TransactionItem",
    "TransactionItemKind",
    "TransactionPage",
)
