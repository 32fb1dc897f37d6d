"""The field registry: definitions in ``fields``, values in real columns of contacts/companies.

Custom fields become columns at run time through Alembic's operations API, which emits the
right DDL for PostgreSQL (a plain, instant ``ADD COLUMN``) and SQLite.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlmodel import Session, col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from mautic_app import cache, changefeed
from mautic_app.domain.fields import (
    CORE_COMPANY_FIELDS,
    CORE_CONTACT_FIELDS,
    FIELD_GROUPS,
    FIELD_TYPES,
    FieldSpec,
    alias_from_label,
    validate_alias,
)
from mautic_app.models import Company, Contact, FieldDefinition

TABLES = {"contact": "contacts", "company": "companies"}
# Every list, form and API call reads the registry: kept per database and object until a field changes.
FIELDS: cache.Cache[tuple[str, str], list[FieldSpec]] = cache.named("fields", topics=["fields"])


class FieldError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def column_type(field_type: str, properties: dict[str, Any] | None = None) -> sa.types.TypeEngine[Any]:
    if field_type == "number":
        return sa.Float()
    if field_type == "boolean":
        return sa.Boolean()
    if field_type == "date":
        return sa.Date()
    if field_type == "datetime":
        return UTCDateTime()
    if field_type in ("textarea", "html", "multiselect"):
        return sa.Text()
    return sa.String(191)


def to_spec(row: FieldDefinition) -> FieldSpec:
    return FieldSpec(
        alias=row.alias,
        label=row.label,
        type=row.type,
        group=row.group,
        object=row.object,
        is_required=row.is_required,
        is_unique_identifier=row.is_unique_identifier,
        is_publicly_updatable=row.is_publicly_updatable,
        is_listable=row.is_listable,
        is_visible=row.is_visible,
        is_fixed=row.is_fixed,
        default_value=row.default_value,
        properties=dict(row.properties or {}),
        order=row.field_order,
    )


def ensure_core_fields(*, session: Session) -> None:
    """Register the core field definitions once (their columns come from the migrations)."""
    existing = {(r.object, r.alias) for r in session.exec(select(FieldDefinition)).all()}
    for order, spec in enumerate(CORE_CONTACT_FIELDS + CORE_COMPANY_FIELDS):
        if (spec.object, spec.alias) in existing:
            continue
        session.add(
            FieldDefinition(
                object=spec.object, alias=spec.alias, label=spec.label, type=spec.type, group=spec.group,
                default_value=spec.default_value, is_required=spec.is_required, is_fixed=True,
                is_unique_identifier=spec.is_unique_identifier, is_publicly_updatable=spec.is_publicly_updatable,
                is_listable=True, is_visible=True, field_order=order, properties=dict(spec.properties),
            )
        )
    session.flush()


def specs(*, session: Session, obj: str = "contact", fresh: bool = False) -> list[FieldSpec]:
    """Field definitions in display order, from :data:`FIELDS` unless ``fresh``."""

    def load() -> list[FieldSpec]:
        return [to_spec(r) for r in definitions(session=session, obj=obj)]

    return load() if fresh else FIELDS.get_or_load((str(session.get_bind().engine.url), obj), load, session=session)


def definitions(*, session: Session, obj: str = "contact") -> list[FieldDefinition]:
    """The stored definitions (with ids and flags) in display order, for the fields settings page."""
    return list(session.exec(
        select(FieldDefinition).where(col(FieldDefinition.object) == obj).order_by(col(FieldDefinition.field_order), col(FieldDefinition.id))
    ).all())


def spec_map(*, session: Session, obj: str = "contact") -> dict[str, FieldSpec]:
    return {s.alias: s for s in specs(session=session, obj=obj)}


# (object, id of a field list) → that list and its table. The list is kept with its table: once freed, its id
# could be given to a newer list, which would then get this older table without its new fields.
_tables: dict[tuple[str, int], tuple[list[FieldSpec], sa.TableClause]] = {}


def table(*, session: Session, obj: str = "contact") -> sa.TableClause:
    """A lightweight table with the id, system columns and one column per field.

    The same object is returned while the registry is unchanged, so conditions built from one
    call can be combined with queries built from another.
    """
    current = specs(session=session, obj=obj)
    key = (obj, id(current))
    if key not in _tables:
        if len(_tables) > 64:
            _tables.clear()
        _tables[key] = (current, _build_table(obj, current))
    return _tables[key][1]


def _build_table(obj: str, current: list[FieldSpec]) -> sa.TableClause:
    model = Contact if obj == "contact" else Company
    system = [c for c in model.__table__.columns]  # type: ignore[union-attr]  # SQLModel does not declare __table__
    names = {c.name for c in system}
    cols = [sa.column(c.name, c.type) for c in system]
    for spec in current:
        if spec.alias not in names:
            cols.append(sa.column(spec.alias, column_type(spec.type, spec.properties)))
    return sa.table(TABLES[obj], *cols)


def _ops(session: Session) -> Operations:
    return Operations(MigrationContext.configure(session.connection()))


def create_field(
    *,
    session: Session,
    obj: str,
    label: str,
    type: str,
    alias: str = "",
    group: str = "core",
    default_value: str | None = None,
    is_required: bool = False,
    is_visible: bool = True,
    is_listable: bool = True,
    is_publicly_updatable: bool = False,
    is_unique_identifier: bool = False,
    is_indexed: bool = False,
    properties: dict[str, Any] | None = None,
) -> FieldDefinition:
    errors: dict[str, str] = {}
    if obj not in TABLES:
        errors["object"] = "Fields belong to contacts or companies."
    label = label.strip()
    if not label:
        errors["label"] = "A label is required."
    if type not in FIELD_TYPES:
        errors["type"] = "Choose a field type."
    if group not in FIELD_GROUPS:
        errors["group"] = "Choose a group."
    alias = (alias.strip().lower() or alias_from_label(label)) if label or alias else ""
    taken = {s.alias for s in specs(session=session, obj=obj, fresh=True)} if obj in TABLES else set()
    taken |= {c.name for c in (Contact if obj == "contact" else Company).__table__.columns}  # type: ignore[union-attr]
    if alias and (why := validate_alias(alias, taken)):
        errors["alias"] = why
    properties = _check_properties(type, properties or {}, errors)
    if errors:
        raise FieldError(errors)
    last = session.exec(select(sa.func.max(FieldDefinition.field_order)).where(FieldDefinition.object == obj)).first() or 0
    row = FieldDefinition(
        object=obj, alias=alias, label=label[:191], type=type, group=group, default_value=default_value or None,
        is_required=is_required, is_visible=is_visible, is_listable=is_listable,
        is_publicly_updatable=is_publicly_updatable, is_unique_identifier=is_unique_identifier,
        is_indexed=is_indexed or is_unique_identifier, field_order=last + 1, properties=properties,
    )
    ops = _ops(session)
    ops.add_column(TABLES[obj], sa.Column(alias, column_type(type, properties), nullable=True))
    if row.is_indexed:
        ops.create_index(f"ix_cf_{TABLES[obj]}_{alias}", TABLES[obj], [alias])
    session.add(row)
    session.flush()
    cache.changed_in(session, FIELDS)
    changefeed.publish_after_commit(session, "fields", {"ids": [row.id], "action": "created"})
    return row


def _check_properties(type_: str, properties: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if type_ in ("select", "multiselect", "lookup"):
        items = properties.get("list") or []
        if isinstance(items, str):
            items = [i for i in items.replace("\n", "|").split("|")]
        items = [str(i).strip() for i in items if str(i).strip()]
        if type_ != "lookup" and not items:
            errors["properties"] = "List at least one option."
        out["list"] = list(dict.fromkeys(items))
    if type_ == "boolean":
        out["yes"] = str(properties.get("yes") or "Yes")
        out["no"] = str(properties.get("no") or "No")
    if type_ == "number":
        try:
            out["scale"] = max(0, min(8, int(properties.get("scale") or 0)))
        except (TypeError, ValueError):
            errors["properties"] = "Decimal places must be a whole number."
    return out


def update_field(*, session: Session, field_id: int, **changes: Any) -> FieldDefinition:
    """Edit a definition. Alias, type and object never change: they are the column."""
    row = session.get(FieldDefinition, field_id)
    if row is None:
        raise FieldError({"id": "This field no longer exists."})
    errors: dict[str, str] = {}
    if "label" in changes:
        label = str(changes["label"]).strip()
        if not label:
            errors["label"] = "A label is required."
        row.label = label[:191]
    if "group" in changes:
        if changes["group"] not in FIELD_GROUPS:
            errors["group"] = "Choose a group."
        row.group = changes["group"]
    if "properties" in changes:
        row.properties = _check_properties(row.type, changes["properties"] or {}, errors)
    for flag in ("is_required", "is_visible", "is_listable", "is_publicly_updatable", "is_unique_identifier"):
        if flag in changes:
            setattr(row, flag, bool(changes[flag]))
    if "default_value" in changes:
        row.default_value = changes["default_value"] or None
    if errors:
        raise FieldError(errors)
    if row.alias == "email" and row.object == "contact":
        row.is_unique_identifier = True if "is_unique_identifier" not in changes else row.is_unique_identifier
    session.add(row)
    session.flush()
    cache.changed_in(session, FIELDS)
    changefeed.publish_after_commit(session, "fields", {"ids": [row.id], "action": "updated"})
    return row


def reorder_fields(*, session: Session, obj: str, aliases: list[str]) -> None:
    rows = {r.alias: r for r in session.exec(select(FieldDefinition).where(FieldDefinition.object == obj)).all()}
    order = [a for a in aliases if a in rows] + [a for a in rows if a not in aliases]
    for position, alias in enumerate(order):
        rows[alias].field_order = position
        session.add(rows[alias])
    session.flush()
    cache.changed_in(session, FIELDS)
    changefeed.publish_after_commit(session, "fields", {"ids": [], "action": "reordered"})


def move_field(*, session: Session, field_id: int, step: int) -> None:
    """Move one field up (-1) or down (+1) in its object's order."""
    row = session.get(FieldDefinition, field_id)
    if row is None:
        return
    aliases = [s.alias for s in specs(session=session, obj=row.object, fresh=True)]
    i = aliases.index(row.alias)
    j = max(0, min(len(aliases) - 1, i + step))
    aliases[i], aliases[j] = aliases[j], aliases[i]
    reorder_fields(session=session, obj=row.object, aliases=aliases)


def delete_field(*, session: Session, field_id: int) -> None:
    row = session.get(FieldDefinition, field_id)
    if row is None:
        return
    if row.is_fixed:
        raise FieldError({"id": "Core fields cannot be deleted."})
    ops = _ops(session)
    if row.is_indexed:
        ops.drop_index(f"ix_cf_{TABLES[row.object]}_{row.alias}", table_name=TABLES[row.object])
    ops.drop_column(TABLES[row.object], row.alias)  # SQLite >= 3.35 drops a plain column in place
    session.delete(row)
    session.flush()
    cache.changed_in(session, FIELDS)
    changefeed.publish_after_commit(session, "fields", {"ids": [field_id], "action": "deleted"})


def field_rows(*, session: Session, obj: str) -> list[FieldDefinition]:
    return list(session.exec(
        select(FieldDefinition).where(col(FieldDefinition.object) == obj)
        .order_by(col(FieldDefinition.field_order), col(FieldDefinition.id))
    ).all())


def field_row(*, session: Session, obj: str, field_id: int) -> FieldDefinition | None:
    row = session.get(FieldDefinition, field_id)
    return row if row is not None and row.object == obj else None
