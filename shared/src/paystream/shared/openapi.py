"""The OpenAPI document every service publishes: one error model for every error status
(validation errors included, since the services answer them as `{"error": {...}}`), the bearer
security scheme, and operation ids that are the endpoint functions' names, stable across
releases so generated clients keep their method names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

ERROR_SCHEMA = "ErrorResponse"
_REF = f"#/components/schemas/{ERROR_SCHEMA}"
# FastAPI's own validation error models: the services never answer with them.
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(title="ErrorDetail")

    code: str = Field(description="Stable machine-readable code", examples=["unknown_package"])
    message: str = Field(description="What went wrong, for a person")
    details: Any = Field(
        default=None,
        description="More about the error: for `validation_error`, one entry per field"
        " (`loc`, `msg`, `type`)",
    )


class ErrorResponse(BaseModel):
    """The body of every error answer, whatever the status."""

    model_config = ConfigDict(title=ERROR_SCHEMA)

    error: ErrorDetail


VALIDATION_EXAMPLE = {
    "error": {
        "code": "validation_error",
        "message": "request is invalid",
        "details": [{"loc": ["body", "package_id"], "msg": "Field required", "type": "missing"}],
    }
}
UNAUTHORIZED_EXAMPLE = {"error": {"code": "unauthorized", "message": "missing bearer token"}}


def operation_id(route: APIRoute) -> str:
    """The endpoint function's name: `create_order`, `get_balance`."""
    return route.name


def contract(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi`: FastAPI's document with the error model put on every error response."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = one_error_model(doc)
        return app.openapi_schema

    return openapi


def one_error_model(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    error_schema = TypeAdapter(ErrorResponse).json_schema(
        ref_template="#/components/schemas/{model}"
    )
    schemas.update(error_schema.pop("$defs", {}))
    schemas[ERROR_SCHEMA] = error_schema
    for path_item in doc.get("paths", {}).values():
        for op in path_item.values():
            responses: dict[str, Any] = op.setdefault("responses", {})
            if op.get("security") and "401" not in responses:
                responses["401"] = {
                    "description": "`unauthorized`: missing, invalid or expired bearer token"
                }
            # What the input guard (shared/guard.py) refuses before any route runs.
            responses.setdefault(
                "400",
                {
                    "description": "`invalid_input`: a control character in the path, the query, "
                    "a header or the body, or a body that is not UTF-8"
                },
            )
            if "requestBody" in op:
                responses.setdefault(
                    "413",
                    {
                        "description": "`payload_too_large`: the body is larger than the "
                        "service's cap (`PAYSTREAM_HTTP_MAX_BODY_BYTES`)"
                    },
                )
            for status, response in responses.items():
                if status != "default" and int(status) < 400:
                    continue
                content = response.setdefault("content", {})
                # A model filed under another media type (a route whose success is plain text)
                # is still answered as JSON; a plain string (Alipay's `fail`) is kept as is.
                misfiled = [t for t, m in content.items() if "$ref" in m.get("schema", {})]
                examples = [content.pop(t) for t in misfiled if t != "application/json"]
                if content and "application/json" not in content and not examples:
                    continue
                media = content.setdefault("application/json", {})
                for moved in examples:
                    media.update({k: v for k, v in moved.items() if k != "schema"})
                media["schema"] = {"$ref": _REF}
                if "example" not in media and "examples" not in media:
                    if status == "422":
                        media["example"] = VALIDATION_EXAMPLE
                    elif status == "401":
                        media["example"] = UNAUTHORIZED_EXAMPLE
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    # Error models of a service's own that no response names any more.
    used = _refs(doc.get("paths", {}), schemas)
    for name in [n for n in schemas if n not in used]:
        del schemas[name]
    return doc


def _refs(node: Any, schemas: dict[str, Any]) -> set[str]:
    """The schemas `node` names, directly or through other schemas."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    stack.append(schemas.get(name))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
