"""``/api/devices`` and ``/api/contacts/{id}/devices``: the browsers contacts were tracked on.

A device's tracking id never leaves the server: whoever holds it can act as that visitor.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from mautic_app.db import session_scope
from mautic_app.models import ContactDevice
from mautic_app.services import contacts, tracking
from mautic_app.web.api.auth import api_user
from mautic_app.web.api.errors import ApiError
from mautic_app.web.api.serializers import iso, respond

router = APIRouter(tags=["Devices"], dependencies=[Depends(api_user)])
MAX_LIMIT = 200


def device(row: ContactDevice) -> dict[str, Any]:
    return {
        "id": row.id,
        "lead": {"id": row.contact_id},
        "device": row.device,
        "deviceBrand": row.device_brand,
        "deviceModel": row.device_model,
        "deviceOsName": row.device_os_name,
        "deviceOsShortName": row.device_os_shortname,
        "deviceOsVersion": row.device_os_version,
        "deviceOsPlatform": row.device_os_platform,
        "clientInfo": row.client_info or {},
        "dateAdded": iso(row.date_added),
        "lastSeen": iso(row.last_seen) if row.last_seen else None,
    }


@router.get("/devices", summary="List devices")
def list_devices(start: int = Query(0, ge=0, le=10_000_000), limit: int = Query(30, ge=1, le=MAX_LIMIT)) -> JSONResponse:
    with session_scope() as session:
        total, rows = tracking.list_devices(session=session, start=start, limit=limit)
        return respond({"total": str(total), "devices": {str(r.id): device(r) for r in rows}})


@router.get("/devices/{device_id:id}", summary="Get a device")
def get_device(device_id: int) -> JSONResponse:
    with session_scope() as session:
        row = tracking.get_device(session=session, device_id=device_id)
        if row is None:
            raise ApiError(404, "Item was not found.")
        return respond({"device": device(row)})


@router.get("/contacts/{contact_id:id}/devices", summary="A contact's devices")
def contact_devices(contact_id: int) -> JSONResponse:
    with session_scope() as session:
        if contacts.read(session=session, contact_id=contact_id) is None:
            raise ApiError(404, "Item was not found.")
        total, rows = tracking.list_devices(session=session, contact_id=contact_id, limit=MAX_LIMIT)
        return respond({"total": total, "devices": [device(r) for r in rows]})
