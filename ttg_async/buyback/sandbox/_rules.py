"""Reading and checking request bodies for the Buyback sandbox: the JSON and multipart
readers (bounded, recorded in the wire log as read) and the field rules of quotes and orders.

Every refusal is a `BuybackApiError`, which the application renders in the envelope.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Final

import msgspec
from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from ttg_async.buyback.sandbox._state import DELIVERY_TYPES, BodyRecord, Part

__all__ = [
    "IN_HAND_LEAD_DAYS",
    "MAX_FORM_BYTES",
    "MAX_JSON_BYTES",
    "MAX_PDF_BYTES",
    "BuybackApiError",
    "check_pdf",
    "delivery_type",
    "iso_day",
    "not_found",
    "quote_extras",
    "read_form",
    "read_json",
    "text_field",
    "validation",
]

_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: The largest JSON body the sandbox reads; a bigger one gets 413.
MAX_JSON_BYTES: Final = 1024 * 1024
#: The largest ticket PDF of a payout order ("at most 10 MB", read as 10 MiB).
MAX_PDF_BYTES: Final = 10 * 1024 * 1024
#: A whole multipart order: the PDF plus room for the other parts and the part headers.
MAX_FORM_BYTES: Final = MAX_PDF_BYTES + 64 * 1024
#: The in-hand date of a not-ready order comes at least this many days before the event.
IN_HAND_LEAD_DAYS: Final = 2
_USER_METADATA: Final = ("first_name", "last_name", "email", "phone_number")
_QUOTE_TEXTS: Final = (
    "section_name_display",
    "row_name_display",
    "seat_start",
    "seat_end",
    "restriction_detail",
)
_QUOTE_FLAGS: Final = ("general_admission", "is_view_restricted")


class BuybackApiError(Exception):
    """An error answer with the documented envelope; the middleware renders it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def validation(field: str, message: str) -> BuybackApiError:
    """``400 VALIDATION_ERROR`` naming the field (``details.field``)."""
    return BuybackApiError(400, "VALIDATION_ERROR", message, {"field": field})


def not_found(resource: str, resource_id: str) -> BuybackApiError:
    """``404 NOT_FOUND``: what does not exist and what belongs to another partner alike."""
    return BuybackApiError(
        404,
        "NOT_FOUND",
        f"No {resource} {resource_id!r} exists for this partner.",
        {"resource": resource, "id": resource_id},
    )


async def read_json(request: web.Request, record: BodyRecord) -> dict[str, Any]:
    """The JSON object a request carries, recorded as read; every failure a 400 or 413."""
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise _too_large(MAX_JSON_BYTES)
    raw = await request.read()
    if len(raw) > MAX_JSON_BYTES:
        raise _too_large(MAX_JSON_BYTES)
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise validation("body", "The request body is not valid JSON.") from None
    except RecursionError:
        raise validation("body", "The request body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise validation("body", "The request body must be a JSON object.")
    record.json = body
    return body


async def read_form(request: web.Request, record: BodyRecord) -> dict[str, tuple[Part, bytes]]:
    """A multipart body's parts by name (the first of each name), recorded as read."""
    if (request.content_length or 0) > MAX_FORM_BYTES:
        raise _too_large(MAX_FORM_BYTES)
    parts: list[Part] = []
    record.parts = parts
    found: dict[str, tuple[Part, bytes]] = {}
    total = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise validation("body", "Nested multipart bodies are not accepted.")
            data = bytearray()
            while chunk := await part.read_chunk():
                data += chunk
                total += len(chunk)
                if total > MAX_FORM_BYTES:
                    raise _too_large(MAX_FORM_BYTES)
            text = None
            if part.filename is None:
                text = bytes(data).decode("utf-8", errors="replace")
            seen = Part(
                part.name,
                part.headers.get(hdrs.CONTENT_TYPE),
                part.filename,
                len(data),
                text,
            )
            parts.append(seen)
            if part.name is not None and part.name not in found:
                found[part.name] = (seen, bytes(data))
    except (BuybackApiError, web.HTTPException):
        raise
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError):
        # aiohttp's reader refuses a malformed body this way (a missing boundary, ...).
        raise validation("body", "The request body is not a valid multipart form.") from None
    return found


def _too_large(limit: int) -> BuybackApiError:
    return BuybackApiError(
        413, "PAYLOAD_TOO_LARGE", f"The request body is over {limit} bytes.", {"limit": limit}
    )


def delivery_type(value: object) -> str:
    if not isinstance(value, str) or value not in DELIVERY_TYPES:
        raise validation(
            "delivery_type", f"delivery_type must be one of {', '.join(DELIVERY_TYPES)}."
        )
    return value


def iso_day(value: str, name: str) -> dt.date:
    if not _DATE_RE.match(value):
        raise validation(name, f"{name} must be a date, YYYY-MM-DD.")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise validation(name, f"{name} must be a date, YYYY-MM-DD.") from None


def check_pdf(part: Part, data: bytes) -> None:
    if part.filename is None:
        raise validation("file", "file must be a file part (with a filename).")
    if (part.content_type or "").split(";")[0].strip().lower() != "application/pdf":
        raise validation("file", "file must be sent as application/pdf.")
    if len(data) > MAX_PDF_BYTES:
        raise validation("file", f"file must be at most {MAX_PDF_BYTES} bytes.")
    if not data.startswith(b"%PDF-"):
        raise validation("file", "file is not a PDF.")


def quote_extras(body: dict[str, Any]) -> dict[str, Any]:
    """The payout version's optional quote fields, type-checked as JSON; kept as sent."""
    extras: dict[str, Any] = {}
    for name in _QUOTE_TEXTS:
        if body.get(name) is not None:
            extras[name] = text_field(body, name)
    for name in _QUOTE_FLAGS:
        value = body.get(name)
        if value is not None:
            if not isinstance(value, bool):
                raise validation(name, f"{name} must be a boolean.")
            extras[name] = value
    face = body.get("face_value")
    if face is not None:
        # A JSON number: a string ("89.50") is refused, as is a bool.
        if isinstance(face, bool) or not isinstance(face, int | float):
            raise validation("face_value", "face_value must be a number (US dollars).")
        if not math.isfinite(face) or face < 0:
            raise validation("face_value", "face_value must not be negative.")
        extras["face_value"] = face
    restrictions = body.get("restrictions")
    if restrictions is not None:
        if not isinstance(restrictions, list) or not all(
            isinstance(item, str) for item in restrictions
        ):
            raise validation("restrictions", "restrictions must be a list of strings.")
        extras["restrictions"] = restrictions
    metadata = body.get("user_metadata")
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
            key in _USER_METADATA and isinstance(value, str) for key, value in metadata.items()
        ):
            raise validation(
                "user_metadata",
                "user_metadata must be an object of strings: " + ", ".join(_USER_METADATA) + ".",
            )
        extras["user_metadata"] = metadata
    return extras


def text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise validation(name, f"{name} must be a non-empty string.")
    return value
