"""Who is signed in, as the shell shows it. Pages reach this shared state with ``get_state(SessionState)``.

The guard (``ui/guard.py``) fills it from the database before every event, so ``user_id`` and
``is_admin`` are what the database says now. It has no handlers: signing in and out are HTTP
routes (``web/auth.py``), because only a server response can set an ``HttpOnly`` cookie.
"""

from __future__ import annotations

import reflex as rx


class SessionState(rx.State):
    user_id: int = 0
    username: str = ""
    user_name: str = ""
    is_admin: bool = False
    # Whom the tab's page data was loaded for (``guard.viewer``): page data never outlives its user.
    _viewer: str = ""

    @rx.var
    def signed_in(self) -> bool:
        return self.user_id > 0
