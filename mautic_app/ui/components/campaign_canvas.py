"""The campaign builder's node canvas (React Flow, ``@xyflow/react`` from the npm registry), wrapped for Reflex.

The React side lives beside this file (``campaign_canvas.jsx``): nodes of our own showing each event's timing,
live counts and dry-run forecast, with "+" buttons under their handles. It only runs in a browser, hence
``NoSSRComponent``; Python owns the nodes and hears clicks, drops and lines drawn.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import passthrough_event_spec


class CampaignCanvas(rx.NoSSRComponent):
    library = rx.asset("campaign_canvas.jsx", shared=True).importable_path
    tag = "CampaignCanvas"
    lib_dependencies: list[str] = ["@xyflow/react@12.12.1"]

    nodes: rx.Var[list[dict[str, Any]]]
    edges: rx.Var[list[dict[str, str]]]
    fit_key: rx.Var[int]  # the view fits the nodes again whenever it changes
    height: rx.Var[str]
    on_select: rx.EventHandler[passthrough_event_spec(str)]
    on_add: rx.EventHandler[passthrough_event_spec(str, str)]
    on_move: rx.EventHandler[passthrough_event_spec(str, float, float)]
    on_connect: rx.EventHandler[passthrough_event_spec(str, str, str)]


campaign_canvas = CampaignCanvas.create
