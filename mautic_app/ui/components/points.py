"""Pieces the three points pages share: their section links, rule-type pickers, property inputs and dialog controls.

Property inputs are built from ``domain.points`` rule types, so a new kind of action or trigger
event gets its form controls from its property list alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import reflex as rx

from mautic_app import routes
from mautic_app.domain import points as rules
from mautic_app.ui.components.widgets import labelled

SECTIONS = (("Actions", routes.POINT_ACTIONS), ("Triggers", routes.POINT_TRIGGERS), ("Groups", routes.POINT_GROUPS))


def section_nav(current: str) -> rx.Component:
    """Links between the points pages; the current one is marked for assistive technology."""
    return rx.el.nav(
        rx.hstack(
            *[
                rx.link(label, href=href, aria_current="page" if href == current else "false", underline="none",
                        padding_x="0.75rem", padding_y="0.35rem", border_radius="var(--radius-3)", size="2",
                        weight="medium", color=rx.color("accent", 11) if href == current else rx.color("gray", 11),
                        background=rx.color("accent", 3) if href == current else "transparent",
                        _hover={"background": rx.color("gray", 4)})
                for label, href in SECTIONS
            ],
            spacing="1",
        ),
        aria_label="Points",
    )


def type_options(rule_types: Mapping[str, rules.RuleType]) -> list[rx.Component]:
    """A choice per rule type that works now (kinds waiting for an area not built yet are not offered)."""
    return [rx.el.option(t.label, value=key) for key, t in rule_types.items() if t.available]


def as_text(value: Any) -> str:
    """A stored property value as a form input shows it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def property_inputs(rule: rules.RuleType, *, name_prefix: str | rx.Var, values: rx.Var, errors: rx.Var,
                    error_prefix: str = "") -> rx.Component:
    """One labelled input per property of ``rule``, named ``<name_prefix><key>``.

    ``values[key]`` holds the text to start from and ``errors[<error_prefix><key>]`` its error.
    """
    controls = []
    for prop in rule.properties:
        control_id = name_prefix + prop.key
        error = errors[error_prefix + prop.key]
        numeric = prop.kind in ("count", "seconds")
        controls.append(labelled(
            prop.label,
            rx.input(
                id=control_id, name=control_id, default_value=values[prop.key].to(str), width="100%",
                type="number" if numeric else "text", min="1" if numeric else None, step="1" if numeric else None,
                font_family="monospace" if prop.kind == "url_pattern" else None,
                aria_required=prop.required, aria_invalid=error != "",
                aria_describedby=rx.cond(error != "", control_id + "-error", ""),
            ),
            control_id,
            required=prop.required,
            error=error,
            hint=prop.hint or None,
        ))
    if not controls:
        return rx.fragment()
    return rx.grid(*controls, columns=rx.breakpoints(initial="1", sm="2") if len(controls) > 1 else "1", spacing="3",
                   width="100%")


def form_properties(rule: rules.RuleType, form: Mapping[str, Any], name_prefix: str) -> dict[str, str]:
    """The submitted text of each of ``rule``'s properties (the service checks and converts it)."""
    return {p.key: str(form.get(name_prefix + p.key, "") or "") for p in rule.properties}
