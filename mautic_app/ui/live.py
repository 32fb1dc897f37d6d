"""Live updates for pages: follow change-feed topics from a background event.

A page starts ``follow`` from an ``@rx.event(background=True)`` handler in its on_load. The loop
ends when the browser disconnects, leaves the page's route or loses its sign-in (checked at every
wake), so nothing lingers; moving between two records of one route (``/contacts/1`` to
``/contacts/2``) keeps the same loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import reflex as rx
from reflex_base.registry import RegistrationContext

from mautic_app import changefeed
from mautic_app.ui.guard import allowed

IDLE_CHECK_SECONDS = 5.0
DEBOUNCE_SECONDS = 0.15


def _connected(state: rx.State) -> bool:
    """Whether the tab's socket is still open (the app is the one Reflex registered, looked up, not imported)."""
    namespace = RegistrationContext.get().app.event_namespace
    if namespace is None:
        return False
    return state.router.session.client_token in namespace.token_to_sid


async def follow(
    state: rx.State,
    topics: Iterable[str],
    on_change: Callable[[list[dict[str, Any]]], Awaitable[None]],
    *,
    guard: str = "_following",
    on_idle: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Call ``on_change(payloads)`` (inside ``async with state``) whenever ``topics`` change.

    ``guard`` names a backend-only bool on the state that keeps one follower per browser tab.
    ``on_idle`` (also inside ``async with state``) runs after each quiet ``IDLE_CHECK_SECONDS``:
    a page that throttles a costly refresh finishes the one it held back there.
    """
    async with state:
        if getattr(state, guard):
            return
        setattr(state, guard, True)
        route = state.router.route_id
    sub = changefeed.Subscription(topics)
    try:
        while True:
            first = await sub.get(timeout=IDLE_CHECK_SECONDS)
            if not _connected(state):
                return
            batch = []
            if first is not None:
                # Gather a burst (an import batch, a bulk action) into one refresh.
                await asyncio.sleep(DEBOUNCE_SECONDS)
                batch = [first[1]] + [payload for _, payload in sub.drain()]
            async with state:
                if state.router.route_id != route:
                    return
                if await allowed(state, state.get_full_name()) is None:
                    return  # signed out, disabled or demoted since the page opened: nothing more is pushed
                if batch:
                    await on_change(batch)
                elif on_idle is not None:
                    await on_idle()
    finally:
        sub.close()
        async with state:
            setattr(state, guard, False)
