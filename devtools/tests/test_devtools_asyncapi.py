"""docs/asyncapi/ is what the code declares: regenerate it with `make asyncapi` when a consumer
or a publisher changes."""

from __future__ import annotations

import json

from paystream.devtools.asyncapi import OUT, documents


def test_the_asyncapi_documents_are_generated_from_the_current_code() -> None:
    docs = documents()
    assert set(docs) == {"checkout", "webhook-ingest", "ledger", "invoicing"}
    for name, text in docs.items():
        committed = (OUT / f"{name}.json").read_text()
        assert committed == text + "\n", f"docs/asyncapi/{name}.json is stale: `make asyncapi`"


def test_a_consumer_documents_its_events_and_its_dead_letters() -> None:
    # The subscriber's payload is the batch: a list of envelopes carrying the handled events.
    doc = json.loads(documents()["ledger"])
    addresses = {c["address"] for c in doc["channels"].values()}
    # The ledger grants checkout's paid orders (orders.events) and revokes for refunds
    # (payments.events); each consumed topic has its dead letters.
    assert addresses == {
        "orders.events",
        "orders.events.dlq",
        "payments.events",
        "payments.events.dlq",
        "ledger.events",
        "sandbox.clock",
    }
    schemas = doc["components"]["schemas"]
    for event in ("OrderPaidV1", "RefundSucceededV1", "CreditsGrantedV1", "CreditsSpentV1"):
        assert event in schemas
    batch = schemas["ledger:Message:Payload"]
    assert batch["type"] == "array"
    envelope = schemas[batch["items"]["$ref"].rsplit("/", 1)[1]]
    assert envelope["properties"]["type"]["enum"] == [
        "paystream.order.paid.v1",
        "paystream.refund.succeeded.v1",
        # Checkout's auto-recharge settings set the user's low-balance threshold.
        "paystream.auto_recharge.configured.v1",
    ]


def test_webhook_ingest_documents_what_it_publishes() -> None:
    doc = json.loads(documents()["webhook-ingest"])
    assert {c["address"] for c in doc["channels"].values()} == {
        "webhooks.raw",
        "payments.events",
        "sandbox.clock",
    }
    # It consumes nothing but the sandbox clock (sandbox mode only).
    received = {
        op["channel"]["$ref"] for op in doc["operations"].values() if op["action"] == "receive"
    }
    assert received == {"#/channels/sandbox.clock"}
    schemas = doc["components"]["schemas"]
    for event in ("WebhookReceivedV1", "PaymentSucceededV1", "RefundSucceededV1"):
        assert event in schemas


def test_every_message_documents_its_key_and_cloudevents_headers() -> None:
    for name, text in documents().items():
        for title, message in json.loads(text)["components"]["messages"].items():
            headers = message["headers"]["properties"]
            assert headers["content-type"]["const"] == "application/cloudevents+json", title
            assert {"ce_type", "ce_id"} <= set(headers), (name, title)
            assert message["bindings"]["kafka"]["key"]["type"] == "string", (name, title)


def test_every_service_documents_the_sandbox_clock_it_reads_and_steps() -> None:
    for name, text in documents().items():
        doc = json.loads(text)
        channel = doc["channels"]["sandbox.clock"]
        assert channel["address"] == "sandbox.clock"
        assert channel["description"].startswith("Sandbox mode only."), name
        actions = {
            op["action"]
            for op in doc["operations"].values()
            if op["channel"]["$ref"] == "#/channels/sandbox.clock"
        }
        assert actions == {"send", "receive"}, name
        envelope = doc["components"]["schemas"]["SandboxClockEnvelope"]
        assert envelope["properties"]["type"]["const"] == "paystream.sandbox.clock_advanced.v1"
        assert envelope["properties"]["data"] == {
            "$ref": "#/components/schemas/SandboxClockAdvancedV1"
        }
        assert "step_us" in doc["components"]["schemas"]["SandboxClockAdvancedV1"]["properties"]
        message = doc["components"]["messages"]["sandbox.clock:Message"]
        assert "one partition" in message["bindings"]["kafka"]["key"]["description"]
