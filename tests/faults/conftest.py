"""Fixtures of the fault-injection tests; the harness itself is in faultkit.py."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The tests import the harness by name (pytest runs with --import-mode=importlib, which does
# not put test directories on sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from faultkit import Deployment

from paystream.shared.settings import BaseServiceSettings


@pytest.fixture
async def deployment(infra_settings: BaseServiceSettings) -> AsyncIterator[Deployment]:
    """A fresh isolated deployment (topics, groups, databases), torn down after the test."""
    d = Deployment(infra_settings, uuid.uuid4().hex[:8])
    await d.create()
    try:
        yield d
    finally:
        await d.destroy()
