"""Companies: the list (search, sort, paging, live) and the new / edit form built from the field registry."""

from mautic_app.ui.pages.companies.form import edit_company, new_company
from mautic_app.ui.pages.companies.view import companies_page

__all__ = ["companies_page", "edit_company", "new_company"]
