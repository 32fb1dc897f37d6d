"""Downloads for a signed-in marketer: the contacts list view and a form's results as CSV, the files
visitors uploaded with a form, and a campaign as one JSON file.

The browser's session cookie (set at log-in) authenticates the download; the CSV streams in
pages so an export of any size holds one page in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from mautic_app.db import session_scope
from mautic_app.domain import search as search_syntax
from mautic_app.models.base import utcnow
from mautic_app.services import campaign_transfer, campaigns, exports, forms, users

router = APIRouter()


def signed_in_user_id(request: Request) -> int | None:
    token = request.cookies.get(users.SESSION_COOKIE, "")
    if not token:
        return None
    with session_scope() as session:
        user = users.user_for_token(session=session, token=token)
        return user.id if user else None


@router.get("/contacts/export.csv", include_in_schema=False)
def export_contacts_csv(
    request: Request,
    search: str = Query("", max_length=500),
    order_by: str = Query("last_active", alias="orderBy", max_length=64),
    order_dir: str = Query("desc", alias="orderByDir", pattern="(?i)^(asc|desc)$"),
    columns: str = Query("", max_length=4000, description="Comma-separated field aliases; all when empty."),
) -> Response:
    user_id = signed_in_user_id(request)
    if user_id is None:
        return JSONResponse({"errors": [{"code": 401, "message": "Sign in to export contacts."}]}, status_code=401)
    chosen = [c.strip() for c in columns.split(",") if c.strip()] or None
    try:
        search_syntax.parse(search)
        with session_scope() as session:
            allowed = exports.exportable_columns(session=session)
        if chosen and (unknown := [c for c in chosen if c not in allowed]):
            raise exports.ExportError({"columns": f"Unknown columns: {', '.join(unknown)}."})
    except (search_syntax.SearchError, exports.ExportError) as exc:
        return JSONResponse({"errors": [{"code": 400, "message": str(exc)}]}, status_code=400)

    def stream() -> Iterator[str]:
        with session_scope() as session:
            yield from exports.export_contacts(session=session, search=search, order_by=order_by, direction=order_dir,
                                               columns=chosen, user_id=user_id)

    name = f"contacts-{utcnow():%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(stream(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.get("/forms/{form_id:int}/results.csv", include_in_schema=False)
def export_form_results_csv(request: Request, form_id: int, search: str = Query("", max_length=200)) -> Response:
    """A form's results as CSV, for a signed-in marketer."""
    if signed_in_user_id(request) is None:
        return JSONResponse({"errors": [{"code": 401, "message": "Sign in to export results."}]}, status_code=401)
    with session_scope() as session:
        form = forms.get_form(session=session, form_id=form_id)
        if form is None:
            return JSONResponse({"errors": [{"code": 404, "message": "This form does not exist."}]}, status_code=404)
        alias = form.alias

    def stream() -> Iterator[str]:
        with session_scope() as session:
            yield from forms.export_csv(session=session, form_id=form_id, search=search)

    name = f"{alias}-results-{utcnow():%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(stream(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.get("/forms/{form_id:int}/results/{submission_id:int}/files/{alias}", include_in_schema=False)
def download_uploaded_file(request: Request, form_id: int, submission_id: int, alias: str) -> Response:
    """A file a visitor sent with a form: always as a download, never shown on this site (it could
    be a page with scripts), under the visitor's file name."""
    if signed_in_user_id(request) is None:
        return JSONResponse({"errors": [{"code": 401, "message": "Sign in to download uploaded files."}]}, status_code=401)
    with session_scope() as session:
        found = forms.uploaded_file(session=session, form_id=form_id, submission_id=submission_id, alias=alias[:64])
    if found is None:
        return JSONResponse({"errors": [{"code": 404, "message": "There is no such file."}]}, status_code=404)
    path, filename = found
    return FileResponse(path, media_type="application/octet-stream", filename=filename, content_disposition_type="attachment",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})


@router.get("/campaigns/{campaign_id:int}/export.json", include_in_schema=False)
def export_campaign(request: Request, campaign_id: int) -> Response:
    """A campaign, with the e-mails and segments it uses, to import into another instance."""
    if signed_in_user_id(request) is None:
        return JSONResponse({"errors": [{"code": 401, "message": "Sign in to export a campaign."}]}, status_code=401)
    with session_scope() as session:
        try:
            data = campaign_transfer.export_campaign(session=session, campaign_id=campaign_id)
        except campaigns.CampaignError:
            return JSONResponse({"errors": [{"code": 404, "message": "This campaign does not exist."}]}, status_code=404)
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.json"', "Cache-Control": "no-store"})

