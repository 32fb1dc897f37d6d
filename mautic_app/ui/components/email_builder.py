"""The drag-and-drop e-mail builder (GrapesJS with grapesjs-mjml, from the npm registry), wrapped for Reflex.

The React side lives beside this file (``email_builder.jsx``). It edits MJML, which the server compiles as it
compiles the code view's; it never runs on the server (GrapesJS needs a browser), hence ``NoSSRComponent``.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import passthrough_event_spec


class EmailBuilder(rx.NoSSRComponent):
    library = rx.asset("email_builder.jsx", shared=True).importable_path
    tag = "EmailBuilder"
    lib_dependencies: list[str] = ["grapesjs@0.23.6", "grapesjs-mjml@1.0.8", "font-awesome@4.7.0"]

    value: rx.Var[str]  # the MJML it starts from
    token: rx.Var[dict[str, str | int]]  # {"text": a token, "n": a counter}: inserted at the caret when n changes
    height: rx.Var[str]
    on_change: rx.EventHandler[passthrough_event_spec(str)]


email_builder = EmailBuilder.create
