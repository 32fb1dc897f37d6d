"""A campaign as one JSON file, to move it to another instance: its events, and the e-mails, segments and forms
they use (plus the names of the stages, point groups and focus items they point at).

The import treats the file as hostile (Mautic's own campaign import had a path traversal and an unrestricted upload,
GHSA-6r9h-4h75-7q4x):

- it is bytes parsed as JSON and nothing else: at most :data:`MAX_BYTES`, nested at most :data:`MAX_DEPTH` deep,
  no list longer than :data:`MAX_LIST`, no string longer than :data:`MAX_TEXT`, no ``NaN``/``Infinity``; names
  are cut to their columns' widths, NUL characters and lone surrogates are dropped, and keys that look like file paths (``../x``, ``/etc``, ``file``, ``path`` ...) are
  ignored. Nothing in it is executed, nothing is written to disk and no value is ever used as a path (an
  e-mail's MJML cannot ``mj-include`` a file: the compiler's loader refuses every include);
- references are matched by name (or alias) in this instance, never trusted as ids: a missing e-mail is created
  through ``emails.save_email`` (so its addresses and headers are checked as any e-mail's are), a missing segment
  through ``segments.save_segment`` (without filters that name another instance's records), a missing form through
  ``forms.save_form`` — unpublished, with its fields but none of its actions, and file fields limited to the
  usual harmless extensions. Stages, point groups and focus items are matched by name only; users, companies and
  other campaigns are instance-specific and are cleared. Every such change is reported in ``notes``;
- the campaign arrives unpublished, saved by ``campaigns.save_campaign`` (the builder's and the API's path).
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app.domain import campaigns as rules
from mautic_app.domain import forms as form_rules
from mautic_app.models import Campaign, Email, FocusItem, Form, FormField, PointGroup, Segment, Stage
from mautic_app.services import campaigns, emails, forms, segments

FORMAT, VERSION = "mautic-app-campaign", 1
MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 20
MAX_LIST = 1000  # items in any one list (a campaign holds at most campaigns.MAX_EVENTS events)
MAX_TEXT = 1_000_000  # the longest string (an e-mail's HTML); a longer one is refused, not cut. Names are cut where used.
MAX_KEY = 64
MAX_NAME = 191
EMAIL_KEYS = ("name", "subject", "preheader", "from_address", "from_name", "reply_to", "email_type", "custom_html", "content_mjml",
              "plain_text", "language", "category", "template")
_EMAIL_BODIES = ("custom_html", "content_mjml", "plain_text")
FORM_FIELD_KEYS = ("label", "alias", "type", "show_label", "default_value", "help_message", "is_required", "validation_message",
                   "properties", "mapped_object", "mapped_field", "is_auto_fill", "show_when_value_exists", "show_after_x_submissions",
                   "always_display", "parent_alias", "conditions", "save_result")
# Setting kinds (see domain.campaigns.Setting) whose values are ids of records, and the export's list that names them.
REFERENCE_KINDS = {"email": "emails", "emails": "emails", "segments": "segments", "form": "forms", "forms": "forms",
                   "stage": "stages", "group": "groups", "focus": "focus"}
NAMED_ONLY: dict[str, Any] = {"stages": Stage, "groups": PointGroup, "focus": FocusItem}  # matched by name, never created
CLEARED_KINDS = {"user": "users", "users": "users", "company": "a company"}  # another instance's people and companies
# Segment filters whose values are ids of another instance's records (segments, users, stages, forms, e-mails).
ID_FILTERS = frozenset({"leadlist", "owner_id", "stage", "form_submit", "lead_email_sent", "lead_email_received", "email_clicked_link"})
_PATH_LIKE = re.compile(r"[/\\\x00:]|\.\.|^[.~]")
_PATH_NAMES = frozenset({"path", "paths", "file", "files", "filename", "filenames", "filepath", "file_path", "dir", "directory",
                         "folder", "tmp_name", "include", "includes"})


# ------------------------------------------------------------------ export


def _references(event_type: str) -> list[tuple[str, str]]:
    """(property, export list) for each setting of this event type that holds record ids."""
    t = rules.EVENT_TYPES.get(event_type)
    return [(s.key, REFERENCE_KINDS[s.kind]) for s in (t.settings if t else ()) if s.kind in REFERENCE_KINDS]


def export_campaign(*, session: Session, campaign_id: int) -> dict[str, Any]:
    """The campaign in Mautic's JSON shape, with what it uses; raises ``CampaignError`` (404) when missing."""
    data = campaigns.campaign_json(session=session, campaign_id=campaign_id)
    wanted: dict[str, set[int]] = {"emails": set(), "segments": {s["id"] for s in data["lists"]}, "forms": {f["id"] for f in data["forms"]},
                                   **{k: set() for k in NAMED_ONLY}}
    for e in data["events"]:
        for key, bucket in _references(e["type"]):
            wanted[bucket].update(rules.ids_of((e["properties"] or {}).get(key)))
    mails = session.execute(sa.select(Email).where(col(Email.id).in_(wanted["emails"])).order_by(col(Email.id))).scalars().all()
    segs = session.execute(sa.select(Segment).where(col(Segment.id).in_(wanted["segments"])).order_by(col(Segment.id))).scalars().all()
    form_rows = session.execute(sa.select(Form).where(col(Form.id).in_(wanted["forms"])).order_by(col(Form.id))).scalars().all()
    fields: dict[int, list[dict[str, Any]]] = {}
    for f in session.execute(sa.select(FormField).where(col(FormField.form_id).in_(wanted["forms"]))
                             .order_by(col(FormField.form_id), col(FormField.order), col(FormField.id))).scalars():
        fields.setdefault(f.form_id, []).append({k: getattr(f, k) for k in FORM_FIELD_KEYS})
    named = {bucket: [{"id": i, "name": n} for i, n in session.execute(
        sa.select(model.id, model.name).where(model.id.in_(wanted[bucket])).order_by(model.id)).tuples()]
        for bucket, model in NAMED_ONLY.items()}
    return {"format": FORMAT, "version": VERSION, "campaign": data,
            "emails": [{"id": m.id, **{k: getattr(m, k) for k in EMAIL_KEYS}, "is_published": m.is_published, "utm_tags": m.utm_tags or {}}
                       for m in mails],
            "segments": [{"id": s.id, "name": s.name, "alias": s.alias, "description": s.description, "filters": s.filters or []}
                         for s in segs],
            "forms": [{"id": f.id, "name": f.name, "alias": f.alias, "description": f.description, "form_type": f.form_type,
                       "fields": fields.get(cast(int, f.id), [])} for f in form_rows],
            **named}


# ------------------------------------------------------------------ reading the file


def _refuse(message: str, status: int = 400) -> campaigns.CampaignError:
    return campaigns.CampaignError({"file": message}, status=status)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large a number")
    return number


def _depth(doc: Any) -> int:
    """How deeply ``doc`` nests, without recursion (stops counting past MAX_DEPTH)."""
    deepest, stack = 0, [(doc, 0)]
    while stack:
        value, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        if isinstance(value, dict):
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, level + 1) for v in value)
    return deepest


def path_like(key: str) -> bool:
    """A key that names a file or folder rather than a setting: such keys are dropped, never looked at."""
    return bool(_PATH_LIKE.search(key)) or key.strip().lower() in _PATH_NAMES


def _text_of(value: str) -> str:
    """A string as stored: without NUL characters or lone surrogates (which no database takes); refused when
    longer than MAX_TEXT (cut HTML would be broken HTML)."""
    if len(value) > MAX_TEXT:
        raise _refuse(f"The file has a value longer than {MAX_TEXT:,} characters.")
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _clean(value: Any, dropped: list[str]) -> Any:
    if isinstance(value, str):
        return _text_of(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = _text_of(str(k)[:MAX_KEY])
            if path_like(key):
                dropped.append(key)
                continue
            out[key] = _clean(v, dropped)
        return out
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            raise _refuse(f"The file has a list of more than {MAX_LIST} items.")
        return [_clean(v, dropped) for v in value]
    return value


def parse(data: bytes, dropped: list[str] | None = None) -> dict[str, Any]:
    """The file's JSON, cleaned (see the module's notes), or a ``CampaignError`` saying why it is refused.
    Keys ignored because they look like paths are added to ``dropped``."""
    if len(data) > MAX_BYTES:
        raise _refuse(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", 413)
    try:
        doc = json.loads(data.decode("utf-8-sig"), parse_constant=_no_constants, parse_float=_finite)
    except RecursionError as exc:
        raise _refuse("The file is nested too deeply.") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise _refuse("The file is not a campaign export (not JSON).") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION or not isinstance(doc.get("campaign"), dict):
        raise _refuse("The file is not a campaign export of this product (format mautic-app-campaign, version 1).")
    if _depth(doc) > MAX_DEPTH:
        raise _refuse("The file is nested too deeply.")
    cleaned: dict[str, Any] = _clean(doc, dropped if dropped is not None else [])
    return cleaned


def _items(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise campaigns.CampaignError({key: f"{key} must be a list."})
    return [item for item in value if isinstance(item, dict)]


def _name(item: dict[str, Any]) -> str:
    return str(item.get("name") or "").strip()[:MAX_NAME]


def _old_id(item: dict[str, Any]) -> int | None:
    found = rules.ids_of(item.get("id")) if not isinstance(item.get("id"), bool) else []
    return found[0] if found else None


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return value in (True, 1, "1", "true", "yes", "on")


# ------------------------------------------------------------------ importing


def import_campaign(*, session: Session, data: bytes, user_id: int | None = None, notes: list[str] | None = None) -> Campaign:
    """A new, unpublished campaign from an export (see the module's notes); what had to change is added to
    ``notes``. Raises ``CampaignError`` for a file that is not a campaign export or cannot be imported."""
    said: list[str] = notes if notes is not None else []
    dropped: list[str] = []
    doc = parse(data, dropped)
    if dropped:
        said.append(f"Ignored {len(dropped)} setting(s) named like files or folders: {', '.join(sorted(set(dropped))[:10])}.")
    c = doc["campaign"]
    maps = {"emails": _match_emails(session, _items(doc, "emails"), user_id, said),
            "segments": _match_segments(session, _items(doc, "segments"), user_id, said),
            "forms": _match_forms(session, _items(doc, "forms"), user_id, said),
            **{bucket: _match_named(session, model, _items(doc, bucket), bucket, said) for bucket, model in NAMED_ONLY.items()}}
    raw_events = c.get("events") or []
    if isinstance(raw_events, dict):  # Mautic's own GET answers key events by id
        raw_events = list(raw_events.values())
    if not isinstance(raw_events, list):
        raise campaigns.CampaignError({"events": "events must be a list."})
    events = [dict(e) for e in raw_events if isinstance(e, dict)]
    ids: dict[str, str] = {}
    for i, e in enumerate(events):
        key = str(e.get("id"))
        if key in ids:
            raise campaigns.CampaignError({"events": f"Two events share the id {key[:40]!r}."})
        ids[key] = f"new{i + 1}"
    for e in events:
        e["id"] = ids[str(e.get("id"))]
        parent = e.get("parent")
        parent_id = parent.get("id") if isinstance(parent, dict) else parent
        # A parent that is not in the file stays unknown, so saving names the event instead of making it a root.
        e["parent"] = ids.get(str(parent_id), f"unknown-{str(parent_id)[:40]}") if parent_id not in (None, "", 0, "0") else None
        e["properties"] = _rewrite(e, ids, maps, said)
        for key in ("channelId", "parentId", "children", "campaign"):
            e.pop(key, None)
    canvas = c.get("canvasSettings") if isinstance(c.get("canvasSettings"), dict) else {}
    nodes = [{**n, "id": ids.get(str(n.get("id")), str(n.get("id")))} for n in (canvas.get("nodes") or []) if isinstance(n, dict)]
    category = c.get("category")
    values = {"name": _name(c) or "Imported campaign", "description": str(c.get("description") or "")[:65535],
              "category": category.get("title") if isinstance(category, dict) else str(category or ""),
              "allowRestart": _flag(c.get("allowRestart"), False), "isPublished": False, "events": events,
              "canvasSettings": {"nodes": nodes},
              "lists": _sources(c.get("lists"), maps["segments"], "segment", said),
              "forms": _sources(c.get("forms"), maps["forms"], "form", said)}
    campaign = campaigns.save_campaign(session=session, values=values, user_id=user_id)
    said.append("The campaign is unpublished: check it, then publish it.")
    return campaign


def _sources(items: Any, mapping: dict[int, int], noun: str, said: list[str]) -> list[dict[str, int]]:
    old = [i for item in (items if isinstance(items, list) else []) for i in rules.ids_of(item.get("id") if isinstance(item, dict) else item)]
    lost = [i for i in old if i not in mapping]
    if lost:
        said.append(f"{len(lost)} source {noun}(s) could not be found or created and were left out.")
    return [{"id": mapping[i]} for i in old if i in mapping]


def _rewrite(e: dict[str, Any], ids: dict[str, str], maps: dict[str, dict[int, int]], said: list[str]) -> dict[str, Any]:
    """An event's settings with every record id turned into this instance's (or cleared, with a note)."""
    props = dict(e["properties"]) if isinstance(e.get("properties"), dict) else {}
    t = rules.EVENT_TYPES.get(str(e.get("type")))
    label = repr(_name(e) or (t.label if t else "event"))
    for s in t.settings if t else ():
        if s.key not in props:
            continue
        value = props[s.key]
        if s.kind in REFERENCE_KINDS:
            mapping = maps[REFERENCE_KINDS[s.kind]]
            old = rules.ids_of(value) if not isinstance(value, bool) else []
            new = [mapping[i] for i in old if i in mapping]
            if len(new) < len(old):
                said.append(f"Event {label}: {len(old) - len(new)} {REFERENCE_KINDS[s.kind]} it used are not in this instance; choose again.")
            props[s.key] = new if isinstance(value, list | dict) else (new[0] if new else None)
        elif s.kind in CLEARED_KINDS:
            if rules.ids_of(value):
                said.append(f"Event {label}: {CLEARED_KINDS[s.kind]} of the other instance cleared; choose again.")
            props[s.key] = [] if isinstance(value, list | dict) else None
        elif s.kind == "campaigns":  # only "this" means the same here
            items = value if isinstance(value, list) else [value]
            keep = [rules.THIS_CAMPAIGN] if any(str(v) == rules.THIS_CAMPAIGN for v in items) else []
            if len(keep) < len([v for v in items if v not in (None, "")]):
                said.append(f"Event {label}: other campaigns of the other instance cleared; choose again.")
            props[s.key] = keep
        elif s.kind == "event":
            target = value.get("id") if isinstance(value, dict) else value
            props[s.key] = ids.get(str(target))
        elif s.kind == "url" and props.get(s.key):
            said.append(f"Event {label} calls {str(props[s.key])[:200]}: check the address before publishing.")
    if t is not None and t.key == "email.send.to.user" and props.get("to"):
        said.append(f"Event {label} e-mails {str(props['to'])[:200]}: check the addresses before publishing.")
    return props


def _first_id(session: Session, model: Any, column: str, value: str) -> int | None:
    if not value:
        return None
    found = session.execute(sa.select(model.id).where(getattr(model, column) == value).order_by(model.id).limit(1)).scalar()
    return int(found) if found is not None else None


def _match_emails(session: Session, items: list[dict[str, Any]], user_id: int | None, said: list[str]) -> dict[int, int]:
    """Exported e-mail id → this instance's e-mail of that name, created (through ``emails.save_email``) if none."""
    out: dict[int, int] = {}
    for m in items:
        old, name = _old_id(m), _name(m)
        if old is None or not name:
            continue
        found = _first_id(session, Email, "name", name)
        if found is None:
            values: dict[str, Any] = {k: str(m.get(k) or "")[:MAX_TEXT if k in _EMAIL_BODIES else MAX_NAME] for k in EMAIL_KEYS if k in m}
            values |= {"name": name, "email_type": "template", "is_published": _flag(m.get("is_published"), True),
                       "language": values.get("language", "")[:16],  # the column's width (save_email does not cap it)
                       "utm_tags": m.get("utm_tags") if isinstance(m.get("utm_tags"), dict) else {}}
            try:
                found = cast(int, emails.save_email(session=session, values=values, user_id=user_id).id)
            except emails.EmailError as exc:
                raise campaigns.CampaignError({"emails": f"E-mail {name!r} cannot be created: {exc}"[:500]}) from exc
            said.append(f"Created the e-mail {name!r}.")
        out[old] = found
    return out


def _match_segments(session: Session, items: list[dict[str, Any]], user_id: int | None, said: list[str]) -> dict[int, int]:
    out: dict[int, int] = {}
    for s in items:
        old, name = _old_id(s), _name(s)
        if old is None or not name:
            continue
        alias = segments.alias_of(str(s.get("alias") or ""))[:MAX_NAME] if s.get("alias") else ""
        found = _first_id(session, Segment, "name", name) or _first_id(session, Segment, "alias", alias)
        if found is None:
            raw: list[Any] = s["filters"] if isinstance(s.get("filters"), list) else []
            filters = [f for f in raw if isinstance(f, dict) and not _instance_filter(f)]
            if len(filters) < len(raw):
                said.append(f"Segment {name!r}: {len(raw) - len(filters)} filter(s) naming the other instance's records left out.")
            values = {"name": name, "description": str(s.get("description") or "")[:10000], "filters": filters}
            if alias and _first_id(session, Segment, "alias", alias) is None:
                values["alias"] = alias
            try:
                found = cast(int, segments.save_segment(session=session, values=values, user_id=user_id).id)
                said.append(f"Created the segment {name!r}.")
            except (segments.SegmentError, ValueError) as exc:  # filters on fields this instance lacks: an empty segment to fill
                try:
                    found = cast(int, segments.save_segment(session=session, values={"name": name}, user_id=user_id).id)
                except segments.SegmentError as again:
                    raise campaigns.CampaignError({"segments": f"Segment {name!r} cannot be created: {again}"[:500]}) from again
                said.append(f"Created the segment {name!r} without filters ({str(exc)[:200]}): add them again.")
        out[old] = found
    return out


def _instance_filter(f: dict[str, Any]) -> bool:
    field = str(f.get("field") or "")
    return field in ID_FILTERS or field.startswith("group_points_")


def _match_forms(session: Session, items: list[dict[str, Any]], user_id: int | None, said: list[str]) -> dict[int, int]:
    """Forms by name or alias; a missing one is created unpublished with its fields and none of its actions (a
    form's actions post, e-mail and redirect to places of the other instance's choosing)."""
    out: dict[int, int] = {}
    mappable: dict[str, list[tuple[str, str]]] | None = None
    for f in items:
        old, name = _old_id(f), _name(f)
        if old is None or not name:
            continue
        alias = str(f.get("alias") or "").strip().lower()[:MAX_NAME]
        found = _first_id(session, Form, "name", name) or _first_id(session, Form, "alias", alias)
        if found is None:
            mappable = mappable if mappable is not None else forms.mappable_fields(session=session)
            values = {"name": name, "description": str(f.get("description") or "")[:5000], "is_published": False,
                      "form_type": "campaign" if f.get("form_type") == "campaign" else "standalone", "post_action": "message"}
            if form_rules.ALIAS_RE.match(alias) and _first_id(session, Form, "alias", alias) is None:
                values["alias"] = alias
            raw_fields: list[Any] = f["fields"] if isinstance(f.get("fields"), list) else []
            try:
                form = forms.save_form(session=session, form_id=None, values=values, fields=_form_fields(raw_fields, mappable, name, said),
                                       actions=[], user_id=user_id)
            except form_rules.FormError as exc:
                said.append(f"Form {name!r} could not be created ({str(exc)[:200]}): it is left out of the campaign.")
                continue
            found = cast(int, form.id)
            said.append(f"Created the form {name!r}, unpublished and without actions: check it, then publish it.")
        out[old] = found
    return out


def _form_fields(raw: list[Any], mappable: dict[str, list[tuple[str, str]]], form_name: str, said: list[str]) -> list[dict[str, Any]]:
    """Exported fields in the shape ``forms.save_form`` checks, each value of the type it expects; mappings to fields
    this instance lacks are dropped, and file fields accept only the usual harmless file types."""
    known = {obj: {alias for alias, _ in pairs} for obj, pairs in mappable.items()}
    out: list[dict[str, Any]] = []
    for item in raw[:form_rules.MAX_FIELDS]:
        if not isinstance(item, dict):
            continue
        field = {k: item[k] for k in FORM_FIELD_KEYS if k in item}
        for key in ("label", "alias", "type", "default_value", "help_message", "validation_message", "mapped_object", "mapped_field",
                    "parent_alias"):
            field[key] = str(field.get(key) or "")[:255]
        for key in ("properties", "conditions"):
            field[key] = field[key] if isinstance(field.get(key), dict) else {}
        for key in ("show_label", "is_required", "is_auto_fill", "show_when_value_exists", "always_display", "save_result"):
            if key in field:
                field[key] = _flag(field[key], False)
        if not form_rules.ALIAS_RE.match(field["alias"]):
            field["alias"] = ""  # made from the label instead
        after = field.get("show_after_x_submissions")
        field["show_after_x_submissions"] = after if isinstance(after, int) and not isinstance(after, bool) else None
        if field["mapped_field"] and field["mapped_field"] not in known.get(field["mapped_object"], set()):
            said.append(f"Form {form_name!r}: field {field['label'][:60]!r} no longer fills {field['mapped_field'][:60]!r} (not a field here).")
            field["mapped_object"] = field["mapped_field"] = ""
        if field["type"] == "file":
            asked = field["properties"].get("allowed_extensions")
            asked = asked if isinstance(asked, list) else []
            safe = [str(x).lower().lstrip(".") for x in asked if str(x).lower().lstrip(".") in form_rules.DEFAULT_EXTENSIONS]
            if len(safe) < len(asked):
                said.append(f"Form {form_name!r}: file field {field['label'][:60]!r} limited to the usual file types.")
            field["properties"] = {**field["properties"], "allowed_extensions": safe or list(form_rules.DEFAULT_EXTENSIONS)}
        out.append(field)
    return out


def _match_named(session: Session, model: Any, items: list[dict[str, Any]], bucket: str, said: list[str]) -> dict[int, int]:
    out: dict[int, int] = {}
    for item in items:
        old, name = _old_id(item), _name(item)
        found = _first_id(session, model, "name", name) if old is not None else None
        if old is not None and found is not None:
            out[old] = found
        elif old is not None:
            said.append(f"No {bucket.rstrip('s')} named {name!r} here: the events using it need another.")
    return out
