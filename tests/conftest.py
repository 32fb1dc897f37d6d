"""Rules every test runs under.

No thread may take a second database connection while it holds one (``db.forbid_nested_checkouts``):
the offending checkout raises at once, and the test fails even when the code under test caught
that error. The app the end-to-end tests start runs with the same rule (``MAUTIC_STRICT_CONNECTIONS``).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable

import pytest

# Before the app's settings are first read: nothing a developer's shell points at (their database,
# Redis, broker, data folder) reaches the tests, and the settings' generated key goes to a folder
# of the run's own. Fixtures point the app at each test's own database (MAUTIC_TEST_* stay).
for _name in [k for k in os.environ if k.startswith(("MAUTIC_", "CELERY_")) and not k.startswith("MAUTIC_TEST_")]:
    del os.environ[_name]
os.environ["MAUTIC_DATA_DIR"] = tempfile.mkdtemp(prefix="mautic-tests-")

from mautic_app import db  # noqa: E402
from mautic_app import settings as settings_module  # noqa: E402

_nested: list[str] = []
db.forbid_nested_checkouts(_nested.append)


@pytest.fixture(autouse=True)
def no_nested_checkouts():
    _nested.clear()
    yield
    if _nested:
        found = list(_nested)
        _nested.clear()
        pytest.fail(f"{len(found)} nested database checkout(s); the first:\n{found[0]}", pytrace=False)


@pytest.fixture
def change_settings(monkeypatch) -> Callable[..., None]:
    """``change_settings(redis_url=None)``: settings fields changed for the rest of this test."""

    def apply(**changes) -> None:
        monkeypatch.setattr(settings_module, "_current", dataclasses.replace(settings_module.get_settings(), **changes))

    return apply
