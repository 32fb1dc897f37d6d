"""Every table, imported so ``SQLModel.metadata`` knows them all."""

from mautic_app.models.changes import ChangeFeedEntry
from mautic_app.models.companies import Company, CompanyContact
from mautic_app.models.contacts import (
    Contact,
    ContactEvent,
    ContactIpAddress,
    ContactTag,
    DoNotContact,
    IpAddress,
    MergeRecord,
    Note,
    Tag,
    UtmTag,
)
from mautic_app.models.fields import FieldDefinition
from mautic_app.models.imports import ContactImport, ImportFailure
from mautic_app.models.stages import Stage
from mautic_app.models.users import User, UserSession

__all__ = [
    "ChangeFeedEntry",
    "Company",
    "CompanyContact",
    "Contact",
    "ContactEvent",
    "ContactImport",
    "ContactIpAddress",
    "ContactTag",
    "DoNotContact",
    "FieldDefinition",
    "ImportFailure",
    "IpAddress",
    "MergeRecord",
    "Note",
    "Stage",
    "Tag",
    "User",
    "UserSession",
    "UtmTag",
]
