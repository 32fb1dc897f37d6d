"""The standard write routes every Mautic resource shares: new, edit, delete and the three batch routes.

Resources differ only in how they read, save and delete records, so those come in as callables;
paths, summaries, status codes and JSON shapes are Mautic's and the same for every resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.web.api import batch, docs
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.requests import MAX_BATCH, batch_ids, batch_items, query_data, read_body, require_object, to_int
from mautic_app.web.api.serializers import respond

# save(session, record_id or None to create, data, method, user_id) -> (saved id, status)
Save = Callable[[Session, int | None, Any, str, int], tuple[int, int]]


def add_standard_routes(
    router: APIRouter, *, singular: str, plural: str, schema: dict[str, Any], new_summary: str,
    exists: Callable[[Session, int], bool],
    read_body_for: Callable[[Session, int], dict[str, Any]],
    save: Save,
    read_many: Callable[[Session, list[int]], dict[int, dict[str, Any]]],
    delete: Callable[[Session, list[int]], Any],
) -> None:
    """Add ``/new``, ``/{id}/edit``, ``/{id}/delete`` and ``/batch/new|edit|delete`` to ``router``.

    ``read_body_for`` raises a 404 when the record is missing; ``read_many`` leaves missing ids out.
    """
    id_name = f"{singular}_id"
    id_path = f"/{{{id_name}:id}}"

    def target(session: Session, record_id: int, method: str) -> int | None:
        """PUT creates a missing record (under a new id); PATCH cannot change what is not there."""
        if exists(session, record_id):
            return record_id
        if method == "PATCH":
            raise ApiError(404)
        return None

    def batch_item(item: Any, *, method: str, user_id: int, editing: bool) -> batch.Result:
        def work(session: Session) -> batch.Result:
            record_id = target(session, to_int(require_object(item).get("id"), "id"), method) if editing else None
            new_id, status = save(session, record_id, item, method, user_id)
            return status, read_body_for(session, new_id)

        return batch.run_item(work)

    @router.post("/new", name=f"new_{singular}", summary=new_summary, openapi_extra=docs.body(schema))
    def new(body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
        with session_scope() as session:
            new_id, status = save(session, None, body, "POST", user_id)
            payload = {singular: read_body_for(session, new_id)}
        return respond(payload, status, {"Location": f"/api{router.prefix}/{new_id}"} if status == 201 else None)

    @router.put(f"{id_path}/edit", name=f"edit_{singular}", summary=f"Replace a {singular} (created when missing)",
                openapi_extra=docs.body(schema))
    @router.patch(f"{id_path}/edit", name=f"edit_{singular}", summary="Change the values sent",
                  openapi_extra=docs.body(schema))
    def edit(request: Request, record_id: int = Path(alias=id_name), body: Any = Depends(read_body),
             user_id: int = Depends(api_user)) -> JSONResponse:
        with session_scope() as session:
            new_id, status = save(session, target(session, record_id, request.method), body, request.method, user_id)
            payload = {singular: read_body_for(session, new_id)}
        return respond(payload, status)

    @router.delete(f"{id_path}/delete", name=f"delete_{singular}", summary=f"Delete a {singular}")
    def delete_one(record_id: int = Path(alias=id_name)) -> JSONResponse:
        with session_scope() as session:
            payload = {singular: read_body_for(session, record_id)}
            delete(session, [record_id])
        return respond(payload)

    @router.post("/batch/new", name="batch_new", summary=f"Create up to {MAX_BATCH} {plural}",
                 openapi_extra=docs.body(schema, batch=True))
    def batch_new(body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
        results = [batch_item(item, method="POST", user_id=user_id, editing=False) for item in batch_items(body)]
        return respond(batch.payload(plural, results), 201)

    @router.put("/batch/edit", name="batch_edit", summary=f"Replace up to {MAX_BATCH} {plural} (missing ids are created)",
                openapi_extra=docs.body(schema, batch=True, with_id=True))
    @router.patch("/batch/edit", name="batch_edit", summary=f"Change up to {MAX_BATCH} {plural} (each item has an id)",
                  openapi_extra=docs.body(schema, batch=True, with_id=True))
    def batch_edit(request: Request, body: Any = Depends(read_body), user_id: int = Depends(api_user)) -> JSONResponse:
        results = [batch_item(item, method=request.method, user_id=user_id, editing=True) for item in batch_items(body)]
        return respond(batch.payload(plural, results))

    @router.delete("/batch/delete", name="batch_delete", summary=f"Delete up to {MAX_BATCH} {plural}",
                   openapi_extra=docs.batch_delete())
    def batch_delete(request: Request, body: Any = Depends(read_body)) -> JSONResponse:
        results = batch.delete_many(batch_ids(query_data(request), body), read_many=read_many, delete=delete)
        return respond(batch.payload(plural, results))
