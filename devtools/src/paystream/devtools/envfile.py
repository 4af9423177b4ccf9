"""`make env-example`: .env.example, every `PAYSTREAM_*` setting of every service (and of the web
app and the operator command) with its meaning and default, generated from the pydantic settings
classes. A setting's meaning is its `Field(description=...)` or the comment written above it in
the class (a comment above several settings, without a blank line between, is theirs together).
"""

from __future__ import annotations

import argparse
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[4]
OUT = REPO / ".env.example"
_FIELD = re.compile(r"^    ([a-z_][a-z0-9_]*)\s*:")


def _classes() -> list[tuple[str, type[BaseSettings]]]:
    from paystream.checkout.settings import CheckoutSettings
    from paystream.cli.settings import OperatorSettings
    from paystream.invoicing.settings import InvoicingSettings
    from paystream.ledger.settings import LedgerSettings
    from paystream.shared.settings import BaseServiceSettings
    from paystream.web.settings import WebSettings
    from paystream.webhook_ingest.settings import WebhookIngestSettings

    return [
        ("every service, the web app and the operator command", BaseServiceSettings),
        ("checkout", CheckoutSettings),
        ("webhook-ingest", WebhookIngestSettings),
        ("ledger", LedgerSettings),
        ("invoicing", InvoicingSettings),
        ("web app", WebSettings),
        ("operator command (paystream)", OperatorSettings),
    ]


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    meaning: str


def comments(cls: type) -> dict[str, str]:
    """Field name -> the comment about it in the class's own source."""
    out: dict[str, str] = {}
    block: list[str] = []  # the comment lines being read
    group: list[str] = []  # the comment of the fields that follow it, until a blank line
    last_was_field = False
    for line in inspect.getsource(cls).splitlines()[1:]:
        text = line.strip()
        if not text:
            block, group, last_was_field = [], [], False
            continue
        if text.startswith("#"):
            if last_was_field:
                block, group = [], []
            block.append(text.lstrip("#").strip())
            last_was_field = False
            continue
        m = _FIELD.match(line)
        if m is None:
            last_was_field = False
            continue
        if block:
            group, block = block, []
        inline = line.split("#", 1)[1].strip() if "  # " in line else ""
        out[m.group(1)] = " ".join([*group, inline]).strip()
        last_was_field = True
    return out


def _default(value: Any) -> str:
    if isinstance(value, SecretStr):
        return ""  # secrets have no example value: set them
    if value is None:
        return ""
    if isinstance(value, Path):
        return (
            str(value.relative_to(REPO))
            if value.is_absolute() and value.is_relative_to(REPO)
            else str(value)
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def settings_of(cls: type[BaseSettings], inherited: bool) -> Iterator[Setting]:
    """The class's settings: its own (and those whose default it changes) unless `inherited`."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    notes: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if (
            isinstance(klass, type)
            and issubclass(klass, BaseSettings)
            and klass is not BaseSettings
        ):
            notes.update({k: v for k, v in comments(klass).items() if v})
    own = set(cls.__annotations__) if not inherited else set(cls.model_fields)
    for name, field in cls.model_fields.items():
        if name not in own:
            continue
        default = field.get_default(call_default_factory=True)
        meaning = field.description or notes.get(name, "")
        yield Setting(f"{prefix}{name}".upper(), _default(default), meaning)


def render() -> str:
    lines = [
        "# Every paystream setting: environment variables read by pydantic-settings. Generated",
        "# from the settings classes by `make env-example`; do not edit (a test fails when stale).",
        "# Each service reads the shared settings and its own; uncomment what you change.",
        "# Secrets have no value here: set them (PAYSTREAM_JWT_SECRET above all).",
    ]
    for i, (title, cls) in enumerate(_classes()):
        lines += ["", f"# ==== {title} " + "=" * max(0, 90 - len(title)), ""]
        previous = None
        for s in settings_of(cls, inherited=i == 0):
            # Settings that share a comment in the class share it here too.
            if s.meaning != previous:
                if previous is not None:
                    lines.append("")
                lines += [f"# {chunk}" for chunk in _wrap(s.meaning or "(no description)")]
            lines.append(f"# {s.env}={s.default}")
            previous = s.meaning
    return "\n".join(lines).rstrip() + "\n"


def missing_meanings() -> list[str]:
    return [
        f"{cls.__name__}.{s.env}"
        for i, (_, cls) in enumerate(_classes())
        for s in settings_of(cls, inherited=i == 0)
        if not s.meaning
    ]


def _wrap(text: str, width: int = 96) -> list[str]:
    out, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*out, line] if line else out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    args.out.write_text(render())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
