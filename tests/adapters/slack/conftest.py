from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters.slack.fake_slack import FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server
