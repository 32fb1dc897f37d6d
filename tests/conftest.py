"""Rules every test runs under.

No thread may take a second database connection while it holds one (``db.forbid_nested_checkouts``):
the offending checkout raises at once, and the test fails even when the code under test caught
that error. The app the end-to-end tests start runs with the same rule (``MAUTIC_STRICT_CONNECTIONS``).
"""

from __future__ import annotations

import pytest

from mautic_app import db

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
