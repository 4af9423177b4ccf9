"""Contains all the data models used in inputs/outputs"""

from .confirm_payout_in import ConfirmPayoutIn
from .create_order_in import CreateOrderIn
from .create_order_in_payment_method import CreateOrderInPaymentMethod
from .create_refund_in import CreateRefundIn
from .day_stats import DayStats
from .decision import Decision
from .decision_in import DecisionIn
from .deposit_out import DepositOut
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .failure_reason import FailureReason
from .method_stats import MethodStats
from .mismatched_order import MismatchedOrder
from .money_in import MoneyIn
from .money_out import MoneyOut
from .needs_review import NeedsReview
from .open_reviews import OpenReviews
from .order_out import OrderOut
from .order_page import OrderPage
from .order_qr_format import OrderQrFormat
from .order_status import OrderStatus
from .package_out import PackageOut
from .package_stats import PackageStats
from .packages_out import PackagesOut
from .paid_amount import PaidAmount
from .payment_method_out import PaymentMethodOut
from .payment_methods_out import PaymentMethodsOut
from .payment_stats import PaymentStats
from .refund_out import RefundOut
from .refund_page import RefundPage
from .refund_state import RefundState
from .review_out import ReviewOut
from .review_out_details import ReviewOutDetails
from .review_page import ReviewPage
from .review_status import ReviewStatus
from .transfer_status import TransferStatus
from .unit_out import UnitOut
from .usdt_review import UsdtReview
from .usdt_transfer_out import UsdtTransferOut
from .usdt_transfer_page import UsdtTransferPage

__all__ = (
    "ConfirmPayoutIn",
    "CreateOrderIn",
    "CreateOrderInPaymentMethod",
    "CreateRefundIn",
    "DayStats",
    "Decision",
    "DecisionIn",
    "DepositOut",
    "ErrorDetail",
    "ErrorResponse",
    "FailureReason",
    "MethodStats",
    "MismatchedOrder",
    "MoneyIn",
    "MoneyOut",
    "NeedsReview",
    "OpenReviews",
    "OrderOut",
    "OrderPage",
    "OrderQrFormat",
    "OrderStatus",
    "PackageOut",
    "PackageStats",
    "PackagesOut",
    "PaidAmount",
    "PaymentMethodOut",
    "PaymentMethodsOut",
    "PaymentStats",
    "RefundOut",
    "RefundPage",
    "RefundState",
    "ReviewOut",
    "ReviewOutDetails",
    "ReviewPage",
    "ReviewStatus",
    "TransferStatus",
    "UnitOut",
    "UsdtReview",
    "UsdtTransferOut",
    "UsdtTransferPage",
)
