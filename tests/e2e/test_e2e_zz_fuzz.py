"""A schema-driven fuzz of every service's OpenAPI contract (docs/api/*.json) against the running
services of the e2e stack: schemathesis generates requests from each operation's schema, valid
and invalid (negative testing), and every answer must be neither a 5xx nor a status code the
contract does not document.

Bounded and deterministic: a fixed number of examples per operation, derived from the test's
name (hypothesis' `derandomize`), so a run in CI is the run on a laptop. The requests carry an
operator's token, so they reach past authentication into the handlers (authentication itself
has its own matrix in the services' tests). Named `zz` so it runs after the other end-to-end
tests: what it creates (orders, holds, grants) must not surprise them. The sandbox clock's
advance is left out: moving the shared stack's time is not undone, and its own tests cover it.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from paystream.devtools.client import Harness
from paystream.devtools.stack import Stack

API = Path(__file__).resolve().parents[2] / "docs" / "api"
# Per operation. 69 operations: about a minute on two cores, and it found what it found at 25.
EXAMPLES = 25
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    # No shrinking: a failure is reported with the case that failed, as generated.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
CHECKS = [not_a_server_error, status_code_conformance]


def _contract(service: str) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_path(API / f"{service}.json").exclude(
        path="/v1/sandbox/clock/advance"
    )


def _operator() -> dict[str, str]:
    return {"Authorization": f"Bearer {Harness.token('fuzz-operator', admin=True)}"}


# The committed contracts (a test keeps them equal to what the services serve): loaded once, the
# base URL comes from the running stack.
checkout = _contract("checkout")
ledger = _contract("ledger")
invoicing = _contract("invoicing")
ingest = _contract("webhook-ingest")


@checkout.parametrize()
@FUZZ
def test_checkout_answers_every_generated_request_as_its_contract_says(
    case: schemathesis.Case, stack: Stack
) -> None:
    case.call_and_validate(
        base_url=stack.urls["checkout"], headers=_operator(), checks=CHECKS, timeout=30
    )


@ledger.parametrize()
@FUZZ
def test_ledger_answers_every_generated_request_as_its_contract_says(
    case: schemathesis.Case, stack: Stack
) -> None:
    case.call_and_validate(
        base_url=stack.urls["ledger"], headers=_operator(), checks=CHECKS, timeout=30
    )


@invoicing.parametrize()
@FUZZ
def test_invoicing_answers_every_generated_request_as_its_contract_says(
    case: schemathesis.Case, stack: Stack
) -> None:
    case.call_and_validate(
        base_url=stack.urls["invoicing"], headers=_operator(), checks=CHECKS, timeout=30
    )


@ingest.parametrize()
@FUZZ
def test_webhook_ingest_answers_every_generated_request_as_its_contract_says(
    case: schemathesis.Case, stack: Stack
) -> None:
    # Unsigned notifications: each must be refused as documented, never a 5xx.
    case.call_and_validate(base_url=stack.urls["webhook-ingest"], checks=CHECKS, timeout=30)
