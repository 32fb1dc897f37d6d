"""The named caches follow the change feed: what is saved in one process is read in every other at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from mautic_app import changefeed
from mautic_app.domain.fields import FieldSpec
from mautic_app.services import fields, focus, forms, tracking
from mautic_app.settings import get_settings
from mautic_app.web.api import auth

FIELD_IN_ANOTHER_PROCESS = textwrap.dedent("""
    from mautic_app.db import session_scope
    from mautic_app.services import fields

    with session_scope() as s:
        fields.create_field(session=s, obj="contact", label="Loyalty tier", type="text")
""")


def follower_listening() -> None:
    """This process's change-feed follower listens where this test's settings point (follow() moves it)."""
    changefeed.follow()
    assert changefeed._follower["where"] == changefeed._where() and changefeed._follower["ready"].is_set()


def aliases(s) -> set[str]:
    return {f.alias for f in fields.specs(session=s)}


def wait_until_cleared(cached, key) -> float:
    started = time.monotonic()
    gone = object()
    while cached.peek(key, gone) is not gone:
        assert time.monotonic() - started < 3, "the cache was not cleared"
        time.sleep(0.01)
    return time.monotonic() - started


def test_a_field_saved_in_another_process_is_read_here_at_once(database, session, tmp_path):
    with session() as s:
        assert "loyalty_tier" not in aliases(s)
        key = (str(s.get_bind().url), "contact")
    assert fields.FIELDS.peek(key) is not None
    follower_listening()
    env = {**os.environ, "MAUTIC_DATABASE_URL": database.url, "MAUTIC_REDIS_URL": get_settings().redis_url or "",
           "MAUTIC_DATA_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", FIELD_IN_ANOTHER_PROCESS], env=env, check=True, timeout=120)
    assert wait_until_cleared(fields.FIELDS, key) < 1
    with session() as s:
        assert "loyalty_tier" in aliases(s)


@pytest.mark.parametrize("topic, cached, key", [
    ("fields", fields.FIELDS, ("db", "contact")),
    ("forms", forms.SNAPSHOTS, 1),
    ("tracking_settings", tracking.SETTINGS, None),
    ("focus", focus.SHOW_ON, None),
    ("users", auth.VERIFIED, "credentials"),
])
def test_each_cache_is_cleared_by_its_topic_published_elsewhere(database, topic, cached, key):
    """A publication this process did not commit (as another process's) reaches it through the follower."""
    follower_listening()
    cached.put(key, "kept")
    changefeed.publish(topic, {"ids": [1], "actions": ["saved"]})
    assert wait_until_cleared(cached, key) < 1


def test_a_save_here_clears_at_once_and_a_statistic_does_not(database, session):
    settings_now = tracking.cached_settings()
    assert tracking.settings_if_fresh() is settings_now
    with session() as s:
        assert tracking.save_settings(session=s, values={"token_max_age_days": 30}) == {}
    assert tracking.settings_if_fresh() is None  # no follower needed: the commit cleared it
    assert tracking.cached_settings()["token_max_age_days"] == 30

    with session() as s:
        item = focus.save_focus(session=s, values={"name": "Sale", "type": "link", "style": "bar",
                                                   "properties": {"placement": "top", "link_url": "https://shop.example/sale",
                                                                  "show_on": ["https://shop.example/*"]}})
    index = focus.cached_show_on()
    with session() as s:
        focus.record_stat(session=s, focus_id=item.id, stat_type="view")
    assert focus.show_on_if_fresh() is index


def test_a_transaction_reads_its_own_fields_and_nobody_keeps_them_when_it_rolls_back(database, session):
    with pytest.raises(RuntimeError), session() as s:
        fields.create_field(session=s, obj="contact", label="Shoe size", type="number")
        assert "shoe_size" in aliases(s)
        assert fields.table(session=s) is fields.table(session=s)  # conditions from two calls still combine
        raise RuntimeError("changed my mind")
    with session() as s:
        assert "shoe_size" not in aliases(s)


def test_a_new_field_list_never_gets_the_table_of_one_gone_before(monkeypatch):
    """The table is kept per field list; a list freed and another made in its memory place (same ``id``) once
    handed the new fields an old table, and an insert of the new field failed ("Unconsumed column names")."""
    made: list[list[FieldSpec]] = []
    monkeypatch.setattr(fields, "specs", lambda **_: made[-1])
    for n in range(200):
        made[:] = [[FieldSpec(alias=f"field_{n}", label=f"Field {n}", type="text")]]  # the list before is freed
        assert f"field_{n}" in fields.table(session=None).c  # type: ignore[arg-type]  # specs is replaced
