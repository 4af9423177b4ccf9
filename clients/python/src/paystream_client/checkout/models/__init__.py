"""Contains all the data models used in inputs/outputs"""

from .advance_in import AdvanceIn
from .attempt_out import AttemptOut
from .auto_recharge_in import AutoRechargeIn
from .auto_recharge_list import AutoRechargeList
from .auto_recharge_out import AutoRechargeOut
from .billing import Billing
from .change_in import ChangeIn
from .change_in_payment_method_type_0 import ChangeInPaymentMethodType0
from .change_out import ChangeOut
from .changed_out import ChangedOut
from .changed_out_change import ChangedOutChange
from .changed_out_effective import ChangedOutEffective
from .clock_out import ClockOut
from .confirm_payout_in import ConfirmPayoutIn
from .create_order_in import CreateOrderIn
from .create_order_in_payment_method import CreateOrderInPaymentMethod
from .create_refund_in import CreateRefundIn
from .custom_amount_out import CustomAmountOut
from .day_stats import DayStats
from .decision import Decision
from .decision_in import DecisionIn
from .deposit_out import DepositOut
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .failure_reason import FailureReason
from .grant_out import GrantOut
from .line_out import LineOut
from .method_stats import MethodStats
from .mismatched_order import MismatchedOrder
from .money_in import MoneyIn
from .money_out import MoneyOut
from .needs_review import NeedsReview
from .open_reviews import OpenReviews
from .opened_out import OpenedOut
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
from .pending_order_out import PendingOrderOut
from .period_out import PeriodOut
from .plan_brief import PlanBrief
from .plan_brief_interval import PlanBriefInterval
from .plan_out import PlanOut
from .plan_out_interval import PlanOutInterval
from .plan_stats import PlanStats
from .plans_out import PlansOut
from .preview_in import PreviewIn
from .preview_out import PreviewOut
from .preview_out_change import PreviewOutChange
from .preview_out_effective import PreviewOutEffective
from .product_out import ProductOut
from .product_price_out import ProductPriceOut
from .products_out import ProductsOut
from .proration_out import ProrationOut
from .provider_answer_out import ProviderAnswerOut
from .provider_answer_out_state import ProviderAnswerOutState
from .provider_summary import ProviderSummary
from .provider_summary_counts import ProviderSummaryCounts
from .provider_summary_fees_minor import ProviderSummaryFeesMinor
from .quote_in import QuoteIn
from .quote_out import QuoteOut
from .quote_out_kind import QuoteOutKind
from .rate_out import RateOut
from .recharge_status import RechargeStatus
from .reconcile_item import ReconcileItem
from .reconcile_item_kind import ReconcileItemKind
from .reconcile_status import ReconcileStatus
from .refund_out import RefundOut
from .refund_page import RefundPage
from .refund_state import RefundState
from .renew_in import RenewIn
from .renew_in_payment_method_type_0 import RenewInPaymentMethodType0
from .renewal_out import RenewalOut
from .review_out import ReviewOut
from .review_out_details import ReviewOutDetails
from .review_page import ReviewPage
from .review_status import ReviewStatus
from .saved_method_list import SavedMethodList
from .saved_method_out import SavedMethodOut
from .settlement_in import SettlementIn
from .settlement_line_out import SettlementLineOut
from .settlement_outcome import SettlementOutcome
from .settlement_report import SettlementReport
from .setup_out import SetupOut
from .status import Status
from .subscribe_in import SubscribeIn
from .subscribe_in_payment_method import SubscribeInPaymentMethod
from .subscription_out import SubscriptionOut
from .sync_out import SyncOut
from .tier_out import TierOut
from .transfer_status import TransferStatus
from .trigger_in import TriggerIn
from .unit_out import UnitOut
from .unmatched_refund_out import UnmatchedRefundOut
from .unmatched_refund_page import UnmatchedRefundPage
from .usdt_review import UsdtReview
from .usdt_transfer_out import UsdtTransferOut
from .usdt_transfer_page import UsdtTransferPage

__all__ = (
    "AdvanceIn",
    "AttemptOut",
    "AutoRechargeIn",
    "AutoRechargeList",
    "AutoRechargeOut",
    "Billing",
    "ChangeIn",
    "ChangeInPaymentMethodType0",
    "ChangeOut",
    "ChangedOut",
    "ChangedOutChange",
    "ChangedOutEffective",
    "ClockOut",
    "ConfirmPayoutIn",
    "CreateOrderIn",
    "CreateOrderInPaymentMethod",
    "CreateRefundIn",
    "CustomAmountOut",
    "DayStats",
    "Decision",
    "DecisionIn",
    "DepositOut",
    "ErrorDetail",
    "ErrorResponse",
    "FailureReason",
    "GrantOut",
    "LineOut",
    "MethodStats",
    "MismatchedOrder",
    "MoneyIn",
    "MoneyOut",
    "NeedsReview",
    "OpenReviews",
    "OpenedOut",
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
    "PendingOrderOut",
    "PeriodOut",
    "PlanBrief",
    "PlanBriefInterval",
    "PlanOut",
    "PlanOutInterval",
    "PlanStats",
    "PlansOut",
    "PreviewIn",
    "PreviewOut",
    "PreviewOutChange",
    "PreviewOutEffective",
    "ProductOut",
    "ProductPriceOut",
    "ProductsOut",
    "ProrationOut",
    "ProviderAnswerOut",
    "ProviderAnswerOutState",
    "ProviderSummary",
    "ProviderSummaryCounts",
    "ProviderSummaryFeesMinor",
    "QuoteIn",
    "QuoteOut",
    "QuoteOutKind",
    "RateOut",
    "RechargeStatus",
    "ReconcileItem",
    "ReconcileItemKind",
    "ReconcileStatus",
    "RefundOut",
    "RefundPage",
    "RefundState",
    "RenewIn",
    "RenewInPaymentMethodType0",
    "RenewalOut",
    "ReviewOut",
    "ReviewOutDetails",
    "ReviewPage",
    "ReviewStatus",
    "SavedMethodList",
    "SavedMethodOut",
    "SettlementIn",
    "SettlementLineOut",
    "SettlementOutcome",
    "SettlementReport",
    "SetupOut",
    "Status",
    "SubscribeIn",
    "SubscribeInPaymentMethod",
    "SubscriptionOut",
    "SyncOut",
    "TierOut",
    "TransferStatus",
    "TriggerIn",
    "UnitOut",
    "UnmatchedRefundOut",
    "UnmatchedRefundPage",
    "UsdtReview",
    "UsdtTransferOut",
    "UsdtTransferPage",
)
