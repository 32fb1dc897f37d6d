"""A list item that can be dragged onto another to reorder a list (HTML drag and drop).

Reflex's elements have no drag events; this one adds them. Pages keep buttons beside it for
keyboards and screen readers, as drag and drop is a mouse-only way to do the same.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import no_args_event_spec


class DragItem(rx.el.Div):
    """``draggable`` with on_drag_start / on_drag_over / on_drop / on_drag_end triggers."""

    on_drag_start: rx.EventHandler[no_args_event_spec]
    on_drag_over: rx.EventHandler[no_args_event_spec]
    on_drag_end: rx.EventHandler[no_args_event_spec]
    on_drop: rx.EventHandler[no_args_event_spec]


def drag_item(*children: rx.Component, on_pick: rx.event.EventSpec, on_put: rx.event.EventSpec, on_done: rx.event.EventSpec,
              **props) -> rx.Component:
    """``on_pick`` when a drag starts here, ``on_put`` when one is dropped here, ``on_done`` when it ends."""
    return DragItem.create(
        *children,
        draggable=True,
        # Firefox starts a drag only once the drag carries some data.
        custom_attrs={"onDragStartCapture": rx.Var("((e) => e.dataTransfer.setData('text/plain', ''))")},
        on_drag_start=on_pick,
        on_drag_over=rx.prevent_default,  # lets the item accept a drop
        on_drop=[rx.prevent_default, on_put],
        on_drag_end=on_done,
        **props,
    )
