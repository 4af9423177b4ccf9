"""The Stripe signer used to play Stripe (demo, benchmark, tests) produces exactly what
stripe-python produces."""

from __future__ import annotations

import time

import stripe

from paystream.devtools.fakes.signing import sign_stripe_payload


def test_header_matches_stripe_python_and_verifies_with_it() -> None:
    body = '{"id":"evt_1","object":"event","name":"caf\u00e9 \u6e2c\u8a66"}'.encode()
    header = sign_stripe_payload(body, "whsec_test", 1_760_000_000)
    assert header == stripe.WebhookSignature.generate_signature_header(
        body.decode(), "whsec_test", 1_760_000_000
    )
    now = sign_stripe_payload(body, "whsec_test", int(time.time()))
    assert stripe.WebhookSignature.verify_header(body, now, "whsec_test", 300)
