"""Each service's database role reaches its own schema only."""

from __future__ import annotations

import pytest

from vprime_local.audit import role_breaches

from tests.conftest import Endpoints

pytestmark = pytest.mark.integration


async def test_each_role_reaches_its_own_schema_only(infra: Endpoints, stack) -> None:  # type: ignore[no-untyped-def]
    assert await role_breaches(infra.database_url) == []
