"""Starter templates for a new e-mail (MJML): a marketer picks one and edits it in the builder or code view."""

from __future__ import annotations

_FOOTER = """    <mj-section padding="16px">
      <mj-column>
        <mj-text font-size="12px" color="#777777" align="center">{unsubscribe_text} {webview_text}</mj-text>
      </mj-column>
    </mj-section>"""

TEMPLATES: dict[str, tuple[str, str, str]] = {
    "blank": ("Blank", "One text block to start from.", f"""<mjml>
  <mj-body background-color="#ffffff">
    <mj-section>
      <mj-column>
        <mj-text font-size="16px">Hello {{contactfield=firstname|there}},</mj-text>
      </mj-column>
    </mj-section>
{_FOOTER}
  </mj-body>
</mjml>"""),
    "newsletter": ("Newsletter", "A header, a lead story, two columns and a footer.", f"""<mjml>
  <mj-head><mj-attributes><mj-all font-family="Helvetica, Arial, sans-serif" /></mj-attributes></mj-head>
  <mj-body background-color="#f4f4f7">
    <mj-section background-color="#1d4ed8" padding="20px">
      <mj-column><mj-text color="#ffffff" font-size="22px" font-weight="bold">Our monthly news</mj-text></mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" padding="20px">
      <mj-column>
        <mj-text font-size="18px" font-weight="bold">Hello {{contactfield=firstname|there}}</mj-text>
        <mj-text font-size="15px" line-height="1.5">Here is what happened this month, and what is coming next.</mj-text>
        <mj-button background-color="#1d4ed8" href="https://example.com/news">Read more</mj-button>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" padding="0 20px 20px">
      <mj-column><mj-text font-size="14px"><strong>For you</strong><br />A tip picked for your account.</mj-text></mj-column>
      <mj-column><mj-text font-size="14px"><strong>Events</strong><br />Meet us at the next trade show.</mj-text></mj-column>
    </mj-section>
{_FOOTER}
  </mj-body>
</mjml>"""),
    "announcement": ("Announcement", "One message and one button.", f"""<mjml>
  <mj-body background-color="#ffffff">
    <mj-section padding="32px 20px">
      <mj-column>
        <mj-text font-size="24px" font-weight="bold" align="center">Something new is here</mj-text>
        <mj-text font-size="16px" align="center" line-height="1.5">{{contactfield=firstname|Hello}}, we built this with you in mind.</mj-text>
        <mj-button background-color="#16a34a" href="https://example.com/launch">Take a look</mj-button>
      </mj-column>
    </mj-section>
{_FOOTER}
  </mj-body>
</mjml>"""),
}


def source(template_id: str) -> str:
    return TEMPLATES.get(template_id, TEMPLATES["blank"])[2]


def choices() -> list[dict[str, str]]:
    return [{"value": k, "label": name, "description": about} for k, (name, about, _src) in TEMPLATES.items()]
