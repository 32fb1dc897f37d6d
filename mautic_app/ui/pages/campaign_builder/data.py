"""What the builder reads and writes, off the event loop: the campaign as a draft (plain dicts in Mautic's JSON
shape, so the draft posts through the same ``save_campaign`` the API uses), the pickers' choices, node counts,
and the draft's checks and layout, which need no database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from mautic_app.db import session_scope
from mautic_app.domain import campaign_schedule as timing_rules
from mautic_app.domain import campaigns as rules
from mautic_app.domain import segments as segment_rules
from mautic_app.models import Campaign, Company, Email, FocusItem, Form, PointGroup, Segment, Stage, User
from mautic_app.services import campaigns
from mautic_app.services import segments as segment_service

SOURCE_NODE = "sources"
X_GAP, Y_GAP = 260.0, 170.0
WEEKDAYS = (("1", "Mon"), ("2", "Tue"), ("3", "Wed"), ("4", "Thu"), ("5", "Fri"), ("6", "Sat"), ("0", "Sun"))


def blank_timing() -> dict[str, Any]:
    return {"mode": "immediate", "interval": "1", "unit": "d", "date": "", "hour": "", "start": "", "stop": "", "weekdays": []}


def timing_of_json(e: dict[str, Any]) -> dict[str, Any]:
    return {"mode": e.get("triggerMode") or "immediate", "interval": str(e.get("triggerInterval") or 1), "unit": e.get("triggerIntervalUnit") or "d",
            "date": (e.get("triggerDate") or "")[:16].replace("T", " "), "hour": e.get("triggerHour") or "", "start": e.get("triggerRestrictedStartHour") or "",
            "stop": e.get("triggerRestrictedStopHour") or "", "weekdays": [str(d) for d in e.get("triggerRestrictedDaysOfWeek") or []]}


def timing_json(t: dict[str, Any]) -> dict[str, Any]:
    return {"triggerMode": t.get("mode") or "immediate", "triggerInterval": t.get("interval") or 0, "triggerIntervalUnit": t.get("unit") or "d",
            "triggerDate": t.get("date") or None, "triggerHour": t.get("hour") or None,
            "triggerRestrictedStartHour": t.get("start") or None, "triggerRestrictedStopHour": t.get("stop") or None,
            "triggerRestrictedDaysOfWeek": [int(d) for d in t.get("weekdays") or []]}


def timing_rule(t: dict[str, Any]) -> timing_rules.Timing:
    try:
        return timing_rules.Timing.from_mautic(timing_json(t))
    except ValueError:
        return timing_rules.Timing()


def read(campaign_id: int) -> dict[str, Any] | None:
    """The saved campaign as the builder's draft."""
    with session_scope() as session:
        if session.get(Campaign, campaign_id) is None:
            return None
        c = campaigns.campaign_json(session=session, campaign_id=campaign_id)
    events = [{"id": str(e["id"]), "name": e["name"], "type": e["type"], "kind": e["eventType"],
               "parent": str(e["parent"]["id"]) if e.get("parent") else "", "path": e.get("decisionPath") or "",
               "properties": e.get("properties") or {}, "timing": timing_of_json(e)} for e in c["events"]]
    positions = {str(n["id"]): {"x": float(n.get("positionX") or 0), "y": float(n.get("positionY") or 0)}
                 for n in (c.get("canvasSettings") or {}).get("nodes", [])}
    return {"id": campaign_id, "name": c["name"], "description": c["description"] or "", "category": c["category"] or "",
            "allow_restart": bool(c["allowRestart"]), "is_published": bool(c["isPublished"]),
            "publish_up": (c["publishUp"] or "")[:16].replace("T", " "), "publish_down": (c["publishDown"] or "")[:16].replace("T", " "),
            "segments": [str(s["id"]) for s in c["lists"]], "forms": [str(f["id"]) for f in c["forms"]],
            "events": events, "positions": positions}


def payload(d: dict[str, Any], events: list[dict[str, Any]], positions: dict[str, dict[str, float]], segments_: list[str],
            forms: list[str], publish: bool) -> dict[str, Any]:
    """The draft as Mautic's JSON."""
    return {"name": d.get("name", ""), "description": d.get("description", ""), "category": d.get("category", ""),
            "allowRestart": bool(d.get("allow_restart")), "publishUp": d.get("publish_up") or None, "publishDown": d.get("publish_down") or None,
            "isPublished": publish, "lists": [{"id": int(i)} for i in segments_], "forms": [{"id": int(i)} for i in forms],
            "events": [{"id": e["id"], "name": e["name"], "type": e["type"], "eventType": e["kind"], "parent": e["parent"] or None,
                        "decisionPath": e["path"] or None, "properties": e["properties"], "order": i + 1, **timing_json(e["timing"])}
                       for i, e in enumerate(events)],
            "canvasSettings": {"nodes": [{"id": k, "positionX": v["x"], "positionY": v["y"]} for k, v in positions.items()]}}


def save(campaign_id: int | None, body: dict[str, Any], user_id: int | None) -> int:
    with session_scope() as session:
        c = campaigns.save_campaign(session=session, campaign_id=campaign_id, values=body, user_id=user_id)
        return int(c.id or 0)


def counts(campaign_id: int) -> dict[str, dict[str, int]]:
    with session_scope() as session:
        return campaigns.node_counts(session=session, campaign_id=campaign_id)


def choices() -> dict[str, list[dict[str, str]]]:
    """Every picker's options, as value/label pairs."""
    with session_scope() as session:
        def pairs(model: Any, label: Any) -> list[dict[str, str]]:
            return [{"value": str(i), "label": str(n)} for i, n in session.execute(sa.select(col(model.id), label).order_by(label)).tuples()]

        fields = segment_service.filter_fields(session=session)
        return {
            "email": pairs(Email, col(Email.name)), "segments": pairs(Segment, col(Segment.name)), "forms": pairs(Form, col(Form.name)),
            "stage": pairs(Stage, col(Stage.name)), "users": pairs(User, col(User.username)), "group": pairs(PointGroup, col(PointGroup.name)),
            "campaigns": [{"value": "this", "label": "This campaign"}, *pairs(Campaign, col(Campaign.name))],
            "company": pairs(Company, col(Company.companyname)),
            "focus": pairs(FocusItem, col(FocusItem.name)),
            "field": [{"value": k, "label": f"{f.category}: {f.label}"} for k, f in fields.items()],
            "operator": [{"value": k, "label": v} for k, v in segment_rules.OPERATORS.items()],
        }


# ------------------------------------------------------------------ checks and layout (no database)


def graph_of(events: list[dict[str, Any]]) -> rules.Graph:
    return rules.Graph.of(rules.Event(id=e["id"], kind=e["kind"], type=e["type"], name=e["name"], parent=e["parent"] or None,
                                      path=e["path"] or None, properties=e["properties"], timing=timing_rule(e["timing"])) for e in events)


def problems(events: list[dict[str, Any]], sources: int) -> tuple[list[str], dict[str, list[str]]]:
    """Why the draft could not be published: the campaign's own problems, then each event's."""
    general: list[str] = []
    by_event: dict[str, list[str]] = {}
    for p in rules.problems(graph_of(events), sources=sources):
        if p.event is None:
            general.append(p.message)
        else:
            by_event.setdefault(str(p.event), []).append(p.message)
    return general, by_event


def auto_layout(events: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """A tidy tree under the sources: each event centred over its children, yes paths left of no paths."""
    g = graph_of(events)
    order = {rules.YES: 0, None: 1, rules.NO: 2}
    out: dict[str, dict[str, float]] = {}
    next_x = [0.0]

    def kids(parent: Any) -> list[rules.Event]:
        return sorted(g.children_of.get(parent, []), key=lambda e: (order.get(e.path, 1), str(e.id)))

    def place(e: rules.Event, depth: int) -> float:
        children = kids(e.id)
        xs = [place(c, depth + 1) for c in children]
        if xs:
            x = (min(xs) + max(xs)) / 2
        else:
            x = next_x[0]
            next_x[0] += X_GAP
        out[str(e.id)] = {"x": x, "y": depth * Y_GAP}
        return x

    roots = [place(r, 1) for r in kids(None)]
    out[SOURCE_NODE] = {"x": (min(roots) + max(roots)) / 2 if roots else 0.0, "y": 0.0}
    return out
