"""Fixtures shared by every test directory."""

from __future__ import annotations

import pytest_asyncio

from tests.support.infra import Isolation, isolated_topics


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def isolation() -> Isolation:
    """Private topics on the real test broker for one test module (integration tests only)."""
    return await isolated_topics()
