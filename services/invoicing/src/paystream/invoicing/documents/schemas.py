"""Request and response bodies of the billing profile."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

_PROFILE_EXAMPLE: dict[str, JsonValue] = {
    "company_name": "Example Trading Co., Ltd.",
    "address": "1 Example Road, Shanghai",
    "tax_id": "91310000MA1FL0000X",
    "email": "billing@example.com",
}


class BillingProfileIn(BaseModel):
    """The buyer as they want to appear on their invoices; captured on each one as it is issued."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_PROFILE_EXAMPLE]})

    company_name: str = Field(min_length=1, max_length=200, examples=["北京示例科技有限公司"])
    address: str = Field(default="", max_length=1000, examples=["北京市朝阳区建国路88号"])
    tax_id: str = Field(default="", max_length=64, examples=["91110105MA01ABCD2X"])
    email: str = Field(default="", max_length=254, examples=["billing@example.com"])

    @field_validator("company_name", "address", "tax_id", "email")
    @classmethod
    def _clean(cls, v: str) -> str:
        # Control characters (but newlines in addresses) never belong on a document.
        v = v.replace("\r\n", "\n").strip()
        if any(ord(c) < 32 and c != "\n" for c in v):
            raise ValueError("must not contain control characters")
        return v

    @field_validator("company_name")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v:
            raise ValueError("must not be blank")
        return v


class BillingProfileOut(BillingProfileIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**_PROFILE_EXAMPLE, "user_id": "user-42", "updated_at": "2026-11-01T07:55:00Z"}
            ]
        }
    )

    user_id: str
    updated_at: datetime
