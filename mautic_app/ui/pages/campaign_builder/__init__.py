"""The campaign builder page (``/campaigns/<id>``)."""

from mautic_app.ui.pages.campaign_builder import view  # noqa: F401  (the page registers itself)
