""".env.example lists every setting with its meaning: regenerate it with `make env-example` when
a settings class changes, and give a new setting a comment (or a Field description)."""

from __future__ import annotations

from paystream.devtools.envfile import OUT, missing_meanings, render
from paystream.shared.settings import BaseServiceSettings


def test_env_example_is_generated_from_the_settings_classes() -> None:
    assert OUT.read_text() == render(), ".env.example is stale: `make env-example`"


def test_every_setting_has_a_meaning() -> None:
    assert missing_meanings() == [], "comment these settings in their class"


def test_every_shared_setting_is_listed_by_its_environment_variable() -> None:
    text = OUT.read_text()
    for name in BaseServiceSettings.model_fields:
        assert f"# PAYSTREAM_{name.upper()}=" in text, name
