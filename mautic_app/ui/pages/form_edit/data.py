"""A form as the editor holds it (settings, field and action rows of strings), its conversions to what
the forms service takes, and the reads and the save, run in a thread."""

from __future__ import annotations

from typing import Any

from mautic_app.db import session_scope
from mautic_app.domain import forms as rules
from mautic_app.services import emails, forms, segments, users

FIELD_KEYS = ("label", "alias", "type", "is_required", "mapped", "default_value", "help_message", "options", "placeholder",
              "is_auto_fill", "show_when_value_exists", "show_after_x_submissions", "always_display", "parent_alias",
              "condition_values", "condition_any", "condition_expr", "captcha", "question", "text", "prev_page_label", "next_page_label",
              "validation_message", "save_result", "show_label", "id")
ACTION_KEYS = ("type", "name", "points", "add_tags", "remove_tags", "addToLists", "removeFromLists", "score", "post_url", "email", "user_id",
               "to", "subject", "id")
ACTION_PROPERTIES = ACTION_KEYS[2:-1]
SETTINGS = {"name": "", "alias": "", "description": "", "post_action": "message", "post_action_property": "",
            "form_type": "standalone", "in_kiosk_mode": "", "progressive_profiling_limit": "", "no_index": "", "is_published": "1"}


def flag(value: Any) -> str:
    """A yes/no as the rows hold it: "1" or ""."""
    return "1" if value else ""


def blank_field(kind: str, taken: list[str]) -> dict[str, str]:
    label = rules.FIELD_TYPES[kind].label if kind != "button" else "Submit"
    row = dict.fromkeys(FIELD_KEYS, "")
    row |= {"label": label, "alias": rules.alias_from_label(label, taken), "type": kind, "show_when_value_exists": "1",
            "save_result": "1", "show_label": "1"}
    if rules.FIELD_TYPES[kind].has_options:
        row["options"] = "First option\nSecond option"
    return row


def change_field(row: dict[str, str], key: str, value: str, taken: list[str]) -> dict[str, str]:
    """``row`` with ``key`` set; a field not saved yet takes a new alias with a new label (a saved one keeps its
    alias: sites and results already use it)."""
    changed = row | {key: value}
    if key == "label" and not row.get("id"):
        changed["alias"] = rules.alias_after_relabel(alias=row["alias"], old_label=row["label"], new_label=value, taken=taken)
    return changed


def new_form_fields() -> list[dict[str, str]]:
    """A new form starts with a required e-mail field and its submit button."""
    return [blank_field("email", []) | {"label": "E-mail", "alias": "email", "mapped": "contact:email", "is_required": "1"},
            blank_field("button", ["email"])]


def field_to_row(f: rules.Field) -> dict[str, str]:
    p = f.properties
    options = "\n".join(o["value"] if o["value"] == o["label"] else f"{o['value']}|{o['label']}" for o in p.get("options") or [])
    return dict.fromkeys(FIELD_KEYS, "") | {
        "label": f.label, "alias": f.alias, "type": f.type, "is_required": flag(f.is_required),
        "mapped": f"{f.mapped_object}:{f.mapped_field}" if f.mapped_field else "", "default_value": f.default_value,
        "help_message": f.help_message, "options": options, "placeholder": str(p.get("placeholder") or ""),
        "is_auto_fill": flag(f.is_auto_fill), "show_when_value_exists": flag(f.show_when_value_exists),
        "show_after_x_submissions": str(f.show_after_x_submissions or ""), "always_display": flag(f.always_display),
        "parent_alias": f.parent_alias, "condition_values": ", ".join(f.conditions.get("values") or []),
        "condition_any": flag(f.conditions.get("any")), "condition_expr": f.conditions.get("expr") or "in",
        "captcha": str(p.get("captcha") or ""), "question": str(p.get("question") or ""), "text": str(p.get("text") or ""),
        "prev_page_label": str(p.get("prev_page_label") or ""), "next_page_label": str(p.get("next_page_label") or ""),
        "validation_message": f.validation_message, "save_result": flag(f.save_result), "show_label": flag(f.show_label),
        "id": str(f.id or ""),
    }


def _row_id(row: dict[str, str]) -> int | None:
    return int(row["id"]) if str(row.get("id") or "").isdigit() else None


def row_to_field(row: dict[str, str]) -> dict[str, Any]:
    mapped_object, _, mapped_field = (row.get("mapped") or "").partition(":")
    props = {k: row[k] for k in ("placeholder", "captcha", "question", "text", "prev_page_label", "next_page_label") if row.get(k)}
    if rules.FIELD_TYPES.get(row.get("type", ""), rules.FIELD_TYPES["text"]).has_options:
        props["options"] = row.get("options", "")
    return {
        "label": row.get("label", ""), "alias": row.get("alias", ""), "type": row.get("type", ""), "is_required": row.get("is_required") == "1",
        "mapped_object": mapped_object if mapped_field else "", "mapped_field": mapped_field, "default_value": row.get("default_value", ""),
        "help_message": row.get("help_message", ""), "properties": props, "is_auto_fill": row.get("is_auto_fill") == "1",
        "show_when_value_exists": row.get("show_when_value_exists") == "1",
        "show_after_x_submissions": row.get("show_after_x_submissions") or None, "always_display": row.get("always_display") == "1",
        "parent_alias": row.get("parent_alias", ""),
        "conditions": {"any": row.get("condition_any") == "1", "expr": row.get("condition_expr") or "in",
                       "values": [v.strip() for v in (row.get("condition_values") or "").split(",") if v.strip()]},
        "validation_message": row.get("validation_message", ""), "save_result": row.get("save_result") == "1",
        "show_label": row.get("show_label") == "1", "id": _row_id(row),
    }


def row_to_action(row: dict[str, str]) -> dict[str, Any]:
    return {"type": row.get("type", ""), "name": row.get("name", ""), "id": _row_id(row),
            "properties": {k: row[k] for k in ACTION_PROPERTIES if row.get(k) not in (None, "")}}


def preview(settings: dict[str, str], rows: list[dict[str, str]]) -> str:
    """The HTML a site gets, from the fields as they stand (fields with a mistake are left out until fixed)."""
    raw = [row_to_field(r) for r in rows]
    mapped = {f["mapped_field"] for f in raw}
    for _ in range(2):
        try:
            fields = rules.check_fields(raw, contact_fields=mapped, company_fields=mapped)
            break
        except rules.FormError as exc:
            bad = {int(k.split(".")[1]) for k in exc.errors if k.startswith("fields.") and k.split(".")[1].isdigit()}
            raw = [f for i, f in enumerate(raw) if i not in bad]
    else:
        fields = []
    return f"<style>{rules.FORM_CSS}</style>" + rules.render_form(
        form_id=0, alias=settings.get("alias") or "preview", name=settings.get("name") or "Form", fields=fields, action="#")


def choices() -> dict[str, Any]:
    """The contact and company fields a form field can fill, and the segments, template e-mails and users actions can name."""
    with session_scope() as session:
        mappable = forms.mappable_fields(session=session)
        segs = segments.list_segments(session=session, limit=500)[1]
        mails = emails.list_emails(session=session, limit=500)[1]
        people = [{"value": str(u.id), "label": f"{u.first_name} {u.last_name}".strip() or u.username}
                  for u in users.list_users(session=session) if u.is_active]
    return {
        "users": people,
        "mapping": [{"value": f"contact:{a}", "label": f"Contact: {lbl}"} for a, lbl in mappable["contact"]]
        + [{"value": f"company:{a}", "label": f"Company: {lbl}"} for a, lbl in mappable["company"]],
        "segments": [{"value": str(s.id), "label": s.name} for s in segs],
        "emails": [{"value": str(e["id"]), "label": e["name"]} for e in mails if e["type"] == emails.TYPES["template"]],
    }


def read(form_id: int, origin: str) -> dict[str, Any] | None:
    """The saved form as the editor holds it, and its manual HTML (made with the server's ``origin``)."""
    with session_scope() as session:
        form = forms.get_form(session=session, form_id=form_id)
        if form is None:
            return None
        fields = forms.fields_of(session=session, form_id=form_id)
        actions = forms.actions_of(session=session, form_id=form_id)
        settings = {
            "name": form.name, "alias": form.alias, "description": form.description, "post_action": form.post_action,
            "post_action_property": form.post_action_property, "form_type": form.form_type,
            "in_kiosk_mode": flag(form.in_kiosk_mode), "no_index": flag(form.no_index),
            "progressive_profiling_limit": str(form.progressive_profiling_limit or ""), "is_published": flag(form.is_published),
        }
        action_rows = []
        for a in actions:
            row = dict.fromkeys(ACTION_KEYS, "") | {"type": a.type, "name": a.name, "id": str(a.id)}
            for k, v in (a.properties or {}).items():
                if k in row:
                    row[k] = ", ".join(str(x) for x in v) if isinstance(v, list) else str(v)
            action_rows.append(row)
        manual = rules.manual_html(form_id=form.id, alias=form.alias, name=form.name, fields=fields, base=origin)
        return {"settings": settings, "fields": [field_to_row(f) for f in fields], "actions": action_rows, "manual": manual}


def save(form_id: int | None, settings: dict[str, str], rows: list[dict[str, str]], actions: list[dict[str, str]],
         user_id: int) -> tuple[int | None, dict[str, str]]:
    """The saved form's id, or None and what is wrong (nothing is written then)."""
    values = dict(settings) | {k: settings.get(k) == "1" for k in ("in_kiosk_mode", "no_index", "is_published")}
    try:
        with session_scope() as session:
            form = forms.save_form(session=session, form_id=form_id, values=values, fields=[row_to_field(r) for r in rows],
                                   actions=[row_to_action(a) for a in actions], user_id=user_id)
            return form.id, {}
    except rules.FormError as exc:
        return None, exc.errors
