"""Companies and their link to contacts (several per contact, one primary)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class Company(SQLModel, table=True):
    __tablename__ = "companies"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    score: int = 0
    created_by: int | None = None
    date_added: datetime = Field(default_factory=utcnow)
    date_modified: datetime | None = None

    companyname: str = Field(max_length=191, index=True)
    companyemail: str | None = Field(default=None, max_length=191)
    companyaddress1: str | None = Field(default=None, max_length=191)
    companyaddress2: str | None = Field(default=None, max_length=191)
    companycity: str | None = Field(default=None, max_length=191)
    companystate: str | None = Field(default=None, max_length=191)
    companyzipcode: str | None = Field(default=None, max_length=191)
    companycountry: str | None = Field(default=None, max_length=191)
    companyphone: str | None = Field(default=None, max_length=191)
    companywebsite: str | None = Field(default=None, max_length=191)
    companynumber_of_employees: int | None = None
    companyfax: str | None = Field(default=None, max_length=191)
    companyannual_revenue: float | None = None
    companyindustry: str | None = Field(default=None, max_length=191)
    companydescription: str | None = None


class CompanyContact(SQLModel, table=True):
    __tablename__ = "company_contacts"

    company_id: int = Field(foreign_key="companies.id", ondelete="CASCADE", primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True, index=True)
    is_primary: bool = False
    date_added: datetime = Field(default_factory=utcnow)
