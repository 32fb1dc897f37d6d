"""Every table, imported so ``SQLModel.metadata`` knows them all."""

from mautic_app.models.campaigns import Campaign, CampaignEvent, CampaignForm, CampaignLog, CampaignMember, CampaignSegment
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
from mautic_app.models.emails import (
    Email,
    EmailBounce,
    EmailClick,
    EmailLink,
    EmailSegment,
    EmailSend,
    EmailSetting,
    EmailStat,
    FrequencyRule,
    OutboxMessage,
)
from mautic_app.models.fields import FieldDefinition
from mautic_app.models.focus import FocusItem, FocusStat
from mautic_app.models.forms import Form, FormAction, FormField, FormSubmission
from mautic_app.models.imports import ContactImport, ImportFailure
from mautic_app.models.points import (
    GroupContactScore,
    PointAction,
    PointActionLog,
    PointGroup,
    PointTrigger,
    PointTriggerEvent,
    PointTriggerLog,
)
from mautic_app.models.queues import QueueBatch
from mautic_app.models.segments import Segment, SegmentContact
from mautic_app.models.stages import Stage
from mautic_app.models.tracking import ContactDevice, PageHit, TrackingSetting
from mautic_app.models.users import User, UserSession

__all__ = [
    "Campaign",
    "CampaignEvent",
    "CampaignForm",
    "CampaignLog",
    "CampaignMember",
    "CampaignSegment",
    "Segment",
    "SegmentContact",
    "ChangeFeedEntry",
    "Company",
    "CompanyContact",
    "Contact",
    "ContactDevice",
    "ContactEvent",
    "ContactImport",
    "ContactIpAddress",
    "ContactTag",
    "DoNotContact",
    "Email",
    "EmailBounce",
    "EmailClick",
    "EmailLink",
    "EmailSegment",
    "EmailSend",
    "EmailSetting",
    "EmailStat",
    "FrequencyRule",
    "OutboxMessage",
    "FieldDefinition",
    "FocusItem",
    "FocusStat",
    "Form",
    "FormAction",
    "FormField",
    "FormSubmission",
    "GroupContactScore",
    "ImportFailure",
    "IpAddress",
    "MergeRecord",
    "Note",
    "PageHit",
    "PointAction",
    "PointActionLog",
    "PointGroup",
    "PointTrigger",
    "PointTriggerEvent",
    "PointTriggerLog",
    "QueueBatch",
    "Stage",
    "Tag",
    "TrackingSetting",
    "User",
    "UserSession",
    "UtmTag",
]
