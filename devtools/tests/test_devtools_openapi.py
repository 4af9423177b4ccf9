"""docs/api/ and clients/python are what the code serves: after changing an endpoint or a schema,
run `make openapi`, which rewrites both. And the documents keep their contract: one error model
for every error status, the bearer scheme on every authenticated operation, operation ids that
are the endpoint functions' names."""

from __future__ import annotations

import filecmp
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from paystream.devtools.openapi import CLIENT_SRC, OUT, documents, generate_client, render
from paystream.shared.openapi import ERROR_SCHEMA

FIX = "`make openapi`"


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return documents()


def test_the_committed_documents_are_what_the_services_serve(docs: dict[str, Any]) -> None:
    assert set(docs) == {"checkout", "webhook-ingest", "ledger", "invoicing"}
    for name, doc in docs.items():
        committed = OUT / f"{name}.json"
        assert committed.exists(), f"docs/api/{name}.json is missing: {FIX}"
        assert committed.read_text() == render(doc), f"docs/api/{name}.json is stale: {FIX}"


def _tree(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_committed_client_is_what_the_generator_makes(tmp_path: Path) -> None:
    generate_client({n: OUT / f"{n}.json" for n in documents()}, tmp_path / "client")
    fresh, committed = _tree(tmp_path / "client"), _tree(CLIENT_SRC)
    assert fresh == committed, f"clients/python differs in its files: {FIX}"
    _, mismatch, errors = filecmp.cmpfiles(
        tmp_path / "client", CLIENT_SRC, sorted(fresh), shallow=False
    )
    assert not mismatch, f"clients/python is stale ({mismatch[:5]}): {FIX}"
    assert not errors, errors


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, item in doc["paths"].items() for m, op in item.items()]


def test_every_error_status_has_the_one_error_model(docs: dict[str, Any]) -> None:
    for name, doc in docs.items():
        schemas = doc["components"]["schemas"]
        assert "HTTPValidationError" not in schemas, name
        assert set(schemas[ERROR_SCHEMA]["properties"]) == {"error"}
        for method, path, op in _operations(doc):
            for status, response in op["responses"].items():
                if int(status) < 400:
                    continue
                json_media = response.get("content", {}).get("application/json")
                text_only = set(response.get("content", {})) == {"text/plain"}
                assert json_media or text_only, f"{name} {method} {path} {status}"
                if json_media:
                    assert json_media["schema"] == {
                        "$ref": f"#/components/schemas/{ERROR_SCHEMA}"
                    }, f"{name} {method} {path} {status}"


def test_authenticated_operations_declare_the_bearer_scheme(docs: dict[str, Any]) -> None:
    checkout = docs["checkout"]
    assert checkout["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT whose `sub` is the user id; `role: admin` for operator endpoints.",
    }
    ops = {(m, p): op for m, p, op in _operations(checkout)}
    assert ops[("POST", "/v1/orders")]["security"] == [{"bearerAuth": []}]
    assert "401" in ops[("POST", "/v1/orders")]["responses"]
    # The catalog and the payment methods are public.
    assert "security" not in ops[("GET", "/v1/packages")]
    for method, path, op in _operations(docs["webhook-ingest"]):
        assert "security" not in op, f"{method} {path}: providers sign, they send no JWT"


def test_operation_ids_are_the_endpoint_names_and_unique(docs: dict[str, Any]) -> None:
    for name, doc in docs.items():
        ids = [op["operationId"] for _, _, op in _operations(doc)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate operation ids {ids}"
        assert all(i.isidentifier() and i == i.lower() for i in ids), ids
    ids = {op["operationId"] for _, _, op in _operations(docs["checkout"])}
    assert {"create_order", "get_order", "create_refund", "accept_review"} <= ids


def _schema_of(doc: dict[str, Any], media: dict[str, Any]) -> dict[str, Any] | None:
    ref = media.get("schema", {}).get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else None


def test_every_request_body_has_an_example(docs: dict[str, Any]) -> None:
    # webhook-ingest's bodies are the providers' own formats, documented by the providers.
    for name in ("checkout", "ledger", "invoicing"):
        for method, path, op in _operations(docs[name]):
            for media in op.get("requestBody", {}).get("content", {}).values():
                schema = _schema_of(docs[name], media)
                assert schema is not None, f"{name} {method} {path}"
                assert schema.get("examples"), f"{name} {method} {path}: give its model examples"


def test_the_main_responses_have_examples(docs: dict[str, Any]) -> None:
    main = {
        "checkout": ("OrderOut", "RefundOut"),
        "ledger": ("SpendOut", "BalanceOut"),
        "invoicing": ("InvoiceOut", "CreditNoteOut"),
    }
    for name, schemas in main.items():
        for schema in schemas:
            assert docs[name]["components"]["schemas"][schema].get("examples"), schema


def test_every_example_is_valid_against_its_schema(docs: dict[str, Any]) -> None:
    """An example that no longer matches its model (a field renamed, one added) fails here.

    FastAPI writes its documents without null values, examples included: a required field whose
    example is null is absent from the document, and is put back as null to validate."""
    for doc in docs.values():
        for schema_name, schema in doc["components"]["schemas"].items():
            for documented in schema.get("examples", []):
                nullable = {
                    k
                    for k, prop in schema.get("properties", {}).items()
                    if {"type": "null"} in prop.get("anyOf", [])
                }
                example = {**dict.fromkeys(nullable), **documented}
                wrapper = {
                    "$ref": f"#/components/schemas/{schema_name}",
                    "components": doc["components"],
                }
                jsonschema.validate(example, wrapper)
