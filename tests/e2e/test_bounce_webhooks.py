"""Settings → E-mail → Bounce webhooks: the callback URL to give each provider, secrets saved but never shown
again (only whether one is set), a key that could never match refused, a secret removed."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page, expect

from tests.e2e.conftest import reopen, run_service


def test_webhook_secrets_are_set_masked_and_removed(signed_in: Page, base_url: str, app_server):
    page = signed_in
    sendgrid_key = base64.b64encode(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    page.get_by_role("link", name="E-mail", exact=True).click()
    expect(page.get_by_role("heading", name="Bounce webhooks")).to_be_visible()
    public = base_url.replace("127.0.0.1", "localhost")  # the app's MAUTIC_BASE_URL (its default), not the address used here
    expect(page.locator("#email-settings-sendgrid-public-key-url")).to_have_text(f"{public}/mailer/sendgrid/callback")
    expect(page.locator("#email-settings-ses-topic-arn-url")).to_have_text(f"{public}/mailer/amazon/callback")

    page.get_by_label("Mailgun: webhook signing key").fill("mg-e2e-secret")
    page.get_by_label("SendGrid: verification key").fill("not a key")
    page.get_by_role("button", name="Save webhook settings").click()
    expect(page.get_by_text("Not SendGrid's verification key")).to_be_visible()

    page.get_by_label("SendGrid: verification key").fill(sendgrid_key)
    page.get_by_label("Amazon SES: SNS topic ARN").fill("arn:aws:sns:eu-west-1:123456789012:ses-bounces")
    page.get_by_role("button", name="Save webhook settings").click()
    expect(page.get_by_text("Webhook settings saved.")).to_be_visible()

    reopen(page)
    expect(page.get_by_label("Amazon SES: SNS topic ARN")).to_have_value("arn:aws:sns:eu-west-1:123456789012:ses-bounces")
    expect(page.get_by_label("Mailgun: webhook signing key")).to_have_value("")  # never sent back to the page
    expect(page.get_by_role("button", name="Remove the Mailgun secret")).to_be_visible()
    expect(page.get_by_role("button", name="Remove the Postmark secret")).to_have_count(0)  # not set
    assert "mg-e2e-secret" not in page.content()
    page.get_by_role("button", name="Remove the Mailgun secret").click()
    expect(page.get_by_text("Secret removed.")).to_be_visible()
    expect(page.get_by_role("button", name="Remove the Mailgun secret")).to_have_count(0)

    stored = run_service(app_server, "from mautic_app.services import bounces\nwith session_scope() as s:\n"
                                     "    print(json.dumps(bounces.webhook_secrets(session=s)))\n"
                                     "    bounces.save_webhook_secrets(session=s, values={})")
    assert stored == {"sendgrid_public_key": sendgrid_key, "ses_topic_arn": "arn:aws:sns:eu-west-1:123456789012:ses-bounces"}
