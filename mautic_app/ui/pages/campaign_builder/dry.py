"""The dry run as the canvas shows it: per node, how many contacts would reach it and on which days."""

from __future__ import annotations

from typing import Any

from mautic_app.db import session_scope
from mautic_app.services import campaign_dry_run
from mautic_app.ui.pages.campaign_builder.data import SOURCE_NODE

DAYS = 30


def _days(first: int | None, last: int | None) -> str:
    if first is None:
        return ""
    return f"day {first}" if first == last else f"days {first}–{last}"


def simulate(campaign_id: int) -> dict[str, Any]:
    with session_scope() as session:
        result = campaign_dry_run.dry_run(session=session, campaign_id=campaign_id, days=DAYS)
    labels, samples = {SOURCE_NODE: f"{result['audience']:,} would take part"}, {}
    for event_id, e in result["events"].items():
        text = f"{e['reach']:,} would reach it"
        if e.get("yes") or e.get("no"):
            text += f" · yes {e['yes']:,} · no {e['no']:,}"
        when = _days(e.get("first_day"), e.get("last_day"))
        labels[str(event_id)] = f"{text} · {when}" if when and e["reach"] else text
        samples[str(event_id)] = [f"{s['name'] or s['email'] or '#' + str(s['id'])}" for s in e.get("samples", [])]
    note = f"Dry run over {DAYS} days, {result['seconds']:.1f} s. " + " ".join(result.get("caveats", []))
    return {"labels": labels, "samples": samples, "note": note.strip(),
            "summary": f"Dry run done: {result['audience']:,} contacts over {DAYS} days, nothing was sent or changed."}
