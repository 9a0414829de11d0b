"""The bodies of the two Buyback POSTs, checked and built before any request.

The seed ("Routable") version of the docs and the later "payout" version differ here: the
payout version's quote takes more optional fields, and its order is ``multipart/form-data``
(with a PDF for ``pdf`` delivery) instead of JSON with a ``delivery_deadline``. The client
speaks both: which one a call uses follows from the arguments given.

Every mistake raises here, before any request (the token request included): ``TypeError``
for a wrong type, ``ValueError`` for a wrong value, each naming the argument.

>>> quote_body("evt_1", "Floor A", 2, face_value=Decimal("89.50"))["face_value"]
Decimal('89.50')
"""

from __future__ import annotations

import asyncio
import io
import math
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final, TypeAlias

import aiohttp

from ttg_async._core.checks import check_id, check_quantity, iso_date
from ttg_async.buyback._protocol import PreparedBody

__all__ = [
    "DELIVERY_TYPES",
    "MAX_PDF_BYTES",
    "PDF_MAGIC",
    "USER_METADATA_FIELDS",
    "OrderFile",
    "json_order_body",
    "multipart_order_body",
    "quote_body",
    "sendable_id",
    "sendable_text",
    "utc_deadline",
]

#: The documented delivery types of an order.
DELIVERY_TYPES: Final = ("mobile_transfer", "mobile_qr", "pdf")
#: The largest ticket PDF the payout version accepts ("at most 10 MB", read as 10 MiB).
MAX_PDF_BYTES: Final = 10 * 1024 * 1024
#: What every PDF file starts with.
PDF_MAGIC: Final = b"%PDF-"
#: The fields of a quote's ``user_metadata``.
USER_METADATA_FIELDS: Final = ("first_name", "last_name", "email", "phone_number")

#: A ticket PDF: its bytes, or the path of a file holding them.
OrderFile: TypeAlias = bytes | bytearray | memoryview | str | os.PathLike[str]


def sendable_id(value: object, field: str) -> str:
    """An ID or name that is sent as given: a path segment or a body field.

    The shared `check_id` refuses empty strings, ``.`` and ``..`` (a path segment a URL
    resolver would collapse) and a lone surrogate (it has no UTF-8 form).

    >>> sendable_id("Box #5", "section_name")
    'Box #5'
    """
    return check_id(value, field)


def sendable_text(text: str, field: str) -> str:
    """``text``, unless it holds a lone surrogate (no UTF-8 form: it cannot be sent as given)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{field}: holds a character that cannot be sent (a lone surrogate)"
        ) from exc
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field}: must be a str or None, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{field}: must not be empty; pass None to leave it out")
    return sendable_text(value, field)


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{field}: must be a bool, not {type(value).__name__}")
    return value


def _money(value: object, field: str) -> Decimal | int | float:
    # A bool is an int to Python, never a price to a person.
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise TypeError(f"{field}: must be a Decimal, int or float, not {type(value).__name__}")
    if isinstance(value, Decimal):
        finite = value.is_finite()
    else:
        finite = not isinstance(value, float) or math.isfinite(value)
    if not finite or value < 0:
        raise ValueError(f"{field}: must be a finite amount of US dollars, 0 or more")
    return value


def _restrictions(value: object) -> list[str]:
    # A bare string is a sequence of characters: almost surely a forgotten list.
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(f"restrictions: must be a sequence of str, not {type(value).__name__}")
    return [_text(item, f"restrictions[{index}]") for index, item in enumerate(value)]


def _user_metadata(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"user_metadata: must be a mapping, not {type(value).__name__}")
    out: dict[str, str] = {}
    for key, item in value.items():
        if key not in USER_METADATA_FIELDS:
            raise ValueError(
                f"user_metadata: unknown field {key!r}; use {', '.join(USER_METADATA_FIELDS)}"
            )
        if item is not None:
            out[key] = _text(item, f"user_metadata[{key!r}]")
    if "email" in out and "@" not in out["email"]:
        raise ValueError("user_metadata['email']: is not an email address")
    return out


def quote_body(
    event_id: object,
    section_name: object,
    quantity: object,
    *,
    row_name: object = None,
    section_name_display: object = None,
    row_name_display: object = None,
    face_value: object = None,
    seat_start: object = None,
    seat_end: object = None,
    general_admission: object = None,
    is_view_restricted: object = None,
    restriction_detail: object = None,
    restrictions: object = None,
    user_metadata: object = None,
) -> dict[str, object]:
    """The JSON body of ``POST /v1/quotes``; an argument left ``None`` is not sent.

    ``face_value`` stays a ``Decimal`` (or ``int``/``float``) here: the encoder writes it as
    a JSON number, never as a string.

    >>> quote_body("evt_1", "Floor A", 2, general_admission=True, restrictions=["obstructed"])
    {'event_id': 'evt_1', 'section_name': 'Floor A', 'quantity': 2, \
'general_admission': True, 'restrictions': ['obstructed']}
    """
    body: dict[str, object] = {
        "event_id": sendable_id(event_id, "event_id"),
        "section_name": sendable_id(section_name, "section_name"),
        "quantity": check_quantity(quantity),
    }
    if row_name is not None:
        body["row_name"] = sendable_id(row_name, "row_name")
    texts = {
        "section_name_display": section_name_display,
        "row_name_display": row_name_display,
        "seat_start": seat_start,
        "seat_end": seat_end,
        "restriction_detail": restriction_detail,
    }
    for name, value in texts.items():
        if value is not None:
            body[name] = _text(value, name)
    if face_value is not None:
        body["face_value"] = _money(face_value, "face_value")
    for name, value in (
        ("general_admission", general_admission),
        ("is_view_restricted", is_view_restricted),
    ):
        if value is not None:
            body[name] = _flag(value, name)
    if restrictions is not None:
        body["restrictions"] = _restrictions(restrictions)
    if user_metadata is not None:
        body["user_metadata"] = _user_metadata(user_metadata)
    return body


def utc_deadline(value: object, field: str = "delivery_deadline") -> str:
    """A timezone-aware ``datetime`` as an ISO 8601 UTC timestamp (``...Z``).

    A past deadline is refused: no delivery can meet it.

    >>> from datetime import timedelta, timezone
    >>> utc_deadline(datetime(2036, 3, 1, 20, 0, tzinfo=timezone(timedelta(hours=1))))
    '2036-03-01T19:00:00Z'
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{field}: must be a timezone-aware datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field}: must be timezone-aware (a naive datetime's zone is a guess)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{field}: {value.isoformat()} in UTC is outside years 1-9999") from None
    if utc <= datetime.now(UTC):
        raise ValueError(f"{field}: {value.isoformat()} is in the past")
    return utc.isoformat().replace("+00:00", "Z")


def _delivery_type(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"delivery_type: must be a str, not {type(value).__name__}")
    if value not in DELIVERY_TYPES:
        raise ValueError(
            f"delivery_type: must be one of {', '.join(DELIVERY_TYPES)}, got {value!r}"
        )
    return value


def json_order_body(
    quote_id: object, delivery_type: object, delivery_deadline: object
) -> dict[str, str]:
    """The seed version's order: JSON with a ``delivery_deadline`` (sent in UTC)."""
    return {
        "quote_id": sendable_id(quote_id, "quote_id"),
        "delivery_type": _delivery_type(delivery_type),
        "delivery_deadline": utc_deadline(delivery_deadline),
    }


def _check_pdf(data: bytes) -> bytes:
    if len(data) > MAX_PDF_BYTES:
        raise ValueError(
            f"file: {len(data)} bytes is over the limit of {MAX_PDF_BYTES} bytes (10 MB)"
        )
    if not data.startswith(PDF_MAGIC):
        raise ValueError("file: is not a PDF (it does not start with %PDF-)")
    return data


def _read_pdf(path: Path) -> bytes:
    # One byte past the limit is enough to refuse a file; a huge one is never read whole.
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_PDF_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"file: cannot read {str(path)!r}: {exc.strerror or exc}") from exc


async def _pdf(file: object) -> tuple[bytes, str]:
    """The PDF's bytes and the file name sent with them."""
    if isinstance(file, bytes | bytearray | memoryview):
        return _check_pdf(bytes(file)), "tickets.pdf"
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        data = await asyncio.to_thread(_read_pdf, path)
        name = path.name
        if not name or not name.isprintable() or not _encodable(name):
            name = "tickets.pdf"  # the file's own name cannot travel in the part's header
        return _check_pdf(data), name
    raise TypeError(f"file: must be bytes or a path, not {type(file).__name__}")


async def multipart_order_body(
    quote_id: object,
    delivery_type: object,
    is_ready_to_deliver: object,
    in_hand_date: object,
    file: object,
) -> PreparedBody:
    """The payout version's order: ``multipart/form-data``, serialized once to bytes.

    Parts: ``quote_id``, ``delivery_type``, ``is_ready_to_deliver`` (``true``/``false``),
    ``in_hand_date`` (``YYYY-MM-DD``; required when not ready), and ``file`` (a PDF, sent as
    ``application/pdf``; required for ``pdf`` delivery and refused for the others).

    >>> body = await multipart_order_body("qt_1", "mobile_transfer", True, None, None)
    >>> body.content_type.startswith("multipart/form-data; boundary=")
    True
    """
    qid = sendable_id(quote_id, "quote_id")
    kind = _delivery_type(delivery_type)
    ready = _flag(is_ready_to_deliver, "is_ready_to_deliver")
    day = iso_date(in_hand_date, "in_hand_date")
    if not ready and day is None:
        raise ValueError("in_hand_date: required when is_ready_to_deliver is False")
    if kind == "pdf" and file is None:
        raise ValueError("file: required for pdf delivery (the ticket PDF)")
    if kind != "pdf" and file is not None:
        raise ValueError(f"file: only pdf delivery sends a file, not {kind}")
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("quote_id", qid)
    form.add_field("delivery_type", kind)
    form.add_field("is_ready_to_deliver", "true" if ready else "false")
    if day is not None:
        form.add_field("in_hand_date", day)
    if file is not None:
        data, name = await _pdf(file)
        # A stream, not raw bytes: aiohttp warns about raw bytes over 1 MiB in one piece.
        form.add_field("file", io.BytesIO(data), content_type="application/pdf", filename=name)
    writer = form()
    return PreparedBody(await writer.as_bytes(), writer.content_type)
