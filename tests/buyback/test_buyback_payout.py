"""The "payout" version of the Buyback docs, against BuybackSandbox(docs_version="payout").

Sections without section_id (walked over several pages), PAYOUT_METHOD_NOT_CONFIGURED, the
extra quote fields with their wire names and JSON types, and the multipart order: placed as
the server expects, refused locally (nothing sent) when malformed, and never sent twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from buyback_helpers import FAST, START

from ttg_async import APIConnectionError, APIError, InvalidRequestError, ServerError
from ttg_async.buyback import BuybackClient, PaymentNotConfiguredError, Quote
from ttg_async.buyback.sandbox import BuybackSandbox

ORDERS = "POST /v1/orders"
QUOTES = "POST /v1/quotes"
PDF = b"%PDF-1.7\n% a ticket\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
EVENT = "evt_1001"


@pytest.fixture
def payout() -> BuybackSandbox:
    return BuybackSandbox(seed=0, start_date=START, docs_version="payout", section_page_size=2)


@pytest.fixture
async def ptbb(payout: BuybackSandbox) -> AsyncIterator[BuybackClient]:
    async with (
        payout.serve() as url,
        BuybackClient("tbb_test_payout", "secret", base_url=url, retry=FAST) as tbb,
    ):
        yield tbb


async def _quote(tbb: BuybackClient, sb: BuybackSandbox, **fields: Any) -> Quote:
    return await tbb.quotes.create(EVENT, sb.section_names(EVENT)[0], 2, **fields)


def _in_hand(sb: BuybackSandbox) -> dt.date:
    return sb.event_start(EVENT).date() - dt.timedelta(days=3)


def _parts(sb: BuybackSandbox) -> dict[str | None, Any]:
    (record,) = sb.wire_log(ORDERS)
    assert record.content_type is not None
    assert record.content_type.startswith("multipart/form-data; boundary=")
    assert record.parts is not None
    return {part.name: part for part in record.parts}


async def test_sections_decode_and_walk_every_page(
    ptbb: BuybackClient, payout: BuybackSandbox
) -> None:
    names = payout.section_names(EVENT)
    assert len(names) > 4  # several pages of two
    sections = await ptbb.sections.list(EVENT)
    assert [s.section_name for s in sections] == names
    assert payout.request_count("GET /v1/events/{event_id}/sections") == (len(names) + 1) // 2
    assert all(s.section_id is None for s in sections)
    assert all(isinstance(s.is_ga, bool) and s.has_quote is False for s in sections)
    assert any(s.section_desc is None for s in sections)
    assert any(isinstance(s.section_desc, str) for s in sections)
    await ptbb.quotes.create(EVENT, names[0], 1)
    again = await ptbb.sections.list(EVENT)
    assert [s.has_quote for s in again] == [True] + [False] * (len(names) - 1)


async def test_the_payout_error_is_payment_not_configured(payout: BuybackSandbox) -> None:
    async with (
        payout.serve() as url,
        BuybackClient("tbb_test_nopay_1", "secret", base_url=url, retry=FAST) as tbb,
    ):
        with pytest.raises(PaymentNotConfiguredError) as caught:
            await _quote(tbb, payout)
    assert caught.value.code == "PAYOUT_METHOD_NOT_CONFIGURED"
    assert caught.value.status == 403


async def test_quote_fields_arrive_with_wire_names_and_json_types(
    ptbb: BuybackClient, payout: BuybackSandbox
) -> None:
    metadata = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone_number": "+442071234567",
    }
    quote = await _quote(
        ptbb,
        payout,
        row_name="A",
        section_name_display="Floor A (front)",
        row_name_display="Row A",
        face_value=Decimal("89.50"),
        seat_start="1",
        seat_end="2",
        general_admission=False,
        is_view_restricted=True,
        restriction_detail="A pillar on the left",
        restrictions=("obstructed view", "no re-entry"),
        user_metadata=metadata,
    )
    (record,) = payout.wire_log(QUOTES)
    assert record.content_type == "application/json"
    sent = record.json
    assert sent == {
        "event_id": EVENT,
        "section_name": payout.section_names(EVENT)[0],
        "quantity": 2,
        "row_name": "A",
        "section_name_display": "Floor A (front)",
        "row_name_display": "Row A",
        "face_value": 89.5,
        "seat_start": "1",
        "seat_end": "2",
        "general_admission": False,
        "is_view_restricted": True,
        "restriction_detail": "A pillar on the left",
        "restrictions": ["obstructed view", "no re-entry"],
        "user_metadata": metadata,
    }
    # A JSON number, never a string; booleans stay booleans.
    assert type(sent["face_value"]) is float
    assert type(sent["is_view_restricted"]) is bool
    assert payout.quote_fields(quote.quote_id)["face_value"] == 89.5
    assert quote.event is not None
    assert quote.event.event_id == EVENT
    assert quote.event.event_timezone
    assert quote.event.event_datetime_local is not None


async def test_a_quote_without_the_extras_sends_none_of_them(
    ptbb: BuybackClient, payout: BuybackSandbox
) -> None:
    await _quote(ptbb, payout, face_value=None, restrictions=None)
    (record,) = payout.wire_log(QUOTES)
    assert set(record.json) == {"event_id", "section_name", "quantity"}


@pytest.mark.parametrize(
    ("fields", "error", "name"),
    [
        ({"face_value": "89.50"}, TypeError, "face_value"),
        ({"face_value": True}, TypeError, "face_value"),
        ({"face_value": Decimal("NaN")}, ValueError, "face_value"),
        ({"face_value": -1}, ValueError, "face_value"),
        ({"restrictions": "obstructed view"}, TypeError, "restrictions"),
        ({"restrictions": ["ok", 3]}, TypeError, "restrictions[1]"),
        ({"general_admission": "yes"}, TypeError, "general_admission"),
        ({"is_view_restricted": 1}, TypeError, "is_view_restricted"),
        ({"seat_start": 1}, TypeError, "seat_start"),
        ({"seat_end": "  "}, ValueError, "seat_end"),
        ({"user_metadata": ["Ada"]}, TypeError, "user_metadata"),
        ({"user_metadata": {"name": "Ada"}}, ValueError, "user_metadata"),
        ({"user_metadata": {"email": "nope"}}, ValueError, "user_metadata['email']"),
        ({"user_metadata": {"first_name": 7}}, TypeError, "user_metadata['first_name']"),
        ({"restriction_detail": "\ud800"}, ValueError, "restriction_detail"),
    ],
)
async def test_bad_quote_fields_send_nothing(
    ptbb: BuybackClient,
    payout: BuybackSandbox,
    fields: dict[str, Any],
    error: type[Exception],
    name: str,
) -> None:
    with pytest.raises(error, match=rf"^{re.escape(name)}:"):
        await _quote(ptbb, payout, **fields)
    assert payout.request_count() == 0  # not even the token request


async def test_a_pdf_order_is_multipart_with_the_pdf(
    ptbb: BuybackClient, payout: BuybackSandbox, tmp_path: Path
) -> None:
    quote = await _quote(ptbb, payout)
    ticket = tmp_path / "row-a.pdf"
    ticket.write_bytes(PDF)
    order = await ptbb.orders.create(
        quote.quote_id, delivery_type="pdf", is_ready_to_deliver=True, file=ticket
    )
    assert order.transfer_email.endswith("@sandbox.ticketbuyback.test")
    assert order.is_ready_to_deliver is True
    assert order.delivery_deadline is None
    assert payout.orders_for_quote(quote.quote_id) == [order.order_id]
    parts = _parts(payout)
    assert set(parts) == {"quote_id", "delivery_type", "is_ready_to_deliver", "file"}
    assert parts["quote_id"].text == quote.quote_id
    assert parts["delivery_type"].text == "pdf"
    assert parts["is_ready_to_deliver"].text == "true"
    assert parts["file"].content_type == "application/pdf"
    assert parts["file"].filename == "row-a.pdf"
    assert parts["file"].size == len(PDF)
    assert parts["file"].text is None


async def test_a_delayed_order_sends_its_in_hand_date(
    ptbb: BuybackClient, payout: BuybackSandbox
) -> None:
    quote = await _quote(ptbb, payout)
    day = _in_hand(payout)
    order = await ptbb.orders.create(
        quote.quote_id,
        delivery_type="mobile_transfer",
        is_ready_to_deliver=False,
        in_hand_date=day,
    )
    assert order.in_hand_date == day
    assert order.is_ready_to_deliver is False
    parts = _parts(payout)
    assert set(parts) == {"quote_id", "delivery_type", "is_ready_to_deliver", "in_hand_date"}
    assert parts["is_ready_to_deliver"].text == "false"
    assert parts["in_hand_date"].text == day.isoformat()
    assert all(p.content_type.startswith("text/plain") for p in parts.values())


async def test_a_pdf_order_from_bytes(ptbb: BuybackClient, payout: BuybackSandbox) -> None:
    quote = await _quote(ptbb, payout)
    await ptbb.orders.create(
        quote.quote_id,
        delivery_type="pdf",
        is_ready_to_deliver=False,
        in_hand_date=_in_hand(payout).isoformat(),
        file=bytearray(PDF),
    )
    parts = _parts(payout)
    assert parts["file"].filename == "tickets.pdf"
    assert parts["file"].size == len(PDF)


async def test_a_large_pdf_goes_whole_and_without_warnings(
    ptbb: BuybackClient, payout: BuybackSandbox
) -> None:
    quote = await _quote(ptbb, payout)
    big = PDF + b"\0" * (10 * 1024 * 1024 - len(PDF))  # exactly the limit
    await ptbb.orders.create(
        quote.quote_id, delivery_type="pdf", is_ready_to_deliver=True, file=big
    )
    assert _parts(payout)["file"].size == 10 * 1024 * 1024


async def test_a_large_multipart_order_refused_with_429_is_sent_again_whole(
    ptbb: BuybackClient, payout: BuybackSandbox
) -> None:
    # A 429 proves nothing was done, so the order may go again: the same bytes, even when the
    # body is large enough to be streamed (a fresh stream per attempt).
    quote = await _quote(ptbb, payout)
    payout.inject(ORDERS, "status", status=429, retry_after=0, times=1)
    big = PDF + b"\0" * (3 * 1024 * 1024)
    order = await ptbb.orders.create(
        quote.quote_id, delivery_type="pdf", is_ready_to_deliver=True, file=big
    )
    assert payout.request_count(ORDERS) == 2
    (record,) = payout.wire_log(ORDERS)  # the 429 struck before the handler: no record
    assert record.parts is not None
    assert [p.size for p in record.parts if p.name == "file"] == [len(big)]
    assert payout.orders_for_quote(quote.quote_id) == [order.order_id]


async def test_the_server_enforces_the_in_hand_lead(
    ptbb: BuybackClient, payout: BuybackSandbox
) -> None:
    quote = await _quote(ptbb, payout)
    with pytest.raises(InvalidRequestError) as caught:
        await ptbb.orders.create(
            quote.quote_id,
            delivery_type="mobile_qr",
            is_ready_to_deliver=False,
            in_hand_date=payout.event_start(EVENT).date(),
        )
    assert caught.value.details["field"] == "in_hand_date"
    assert payout.orders_for_quote(quote.quote_id) == []


async def test_a_json_order_is_refused_by_the_payout_server(
    ptbb: BuybackClient, payout: BuybackSandbox
) -> None:
    quote = await _quote(ptbb, payout)
    with pytest.raises(APIError) as caught:
        await ptbb.orders.create(
            quote.quote_id,
            delivery_type="mobile_qr",
            delivery_deadline=payout.event_start(EVENT) - dt.timedelta(days=1),
        )
    assert caught.value.status == 415
    assert caught.value.code == "UNSUPPORTED_MEDIA_TYPE"
    assert payout.orders_for_quote(quote.quote_id) == []


def _bad_orders(tmp: Path, day: dt.date) -> list[tuple[str, dict[str, Any], type[Exception]]]:
    big = tmp / "big.pdf"
    big.write_bytes(PDF + b"\0" * (10 * 1024 * 1024))
    text = tmp / "notes.txt"
    text.write_bytes(b"not a pdf")
    deadline = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    return [
        ("pdf without a file", {"delivery_type": "pdf", "is_ready_to_deliver": True}, ValueError),
        (
            "a file that is not a PDF",
            {"delivery_type": "pdf", "is_ready_to_deliver": True, "file": b"GIF89a..."},
            ValueError,
        ),
        (
            "a path that is not a PDF",
            {"delivery_type": "pdf", "is_ready_to_deliver": True, "file": text},
            ValueError,
        ),
        (
            "a file over 10 MB",
            {"delivery_type": "pdf", "is_ready_to_deliver": True, "file": big},
            ValueError,
        ),
        (
            "bytes over 10 MB",
            {
                "delivery_type": "pdf",
                "is_ready_to_deliver": True,
                "file": PDF + b"\0" * (10 * 1024 * 1024),
            },
            ValueError,
        ),
        (
            "a missing file",
            {"delivery_type": "pdf", "is_ready_to_deliver": True, "file": tmp / "gone.pdf"},
            ValueError,
        ),
        (
            "a file for mobile delivery",
            {"delivery_type": "mobile_qr", "is_ready_to_deliver": True, "file": PDF},
            ValueError,
        ),
        (
            "not ready without an in-hand date",
            {"delivery_type": "mobile_transfer", "is_ready_to_deliver": False},
            ValueError,
        ),
        ("neither form", {"delivery_type": "mobile_transfer"}, ValueError),
        (
            "both forms",
            {
                "delivery_type": "mobile_transfer",
                "is_ready_to_deliver": True,
                "delivery_deadline": deadline,
            },
            ValueError,
        ),
        (
            "an in-hand date with a deadline",
            {"delivery_type": "mobile_qr", "delivery_deadline": deadline, "in_hand_date": day},
            ValueError,
        ),
        (
            "a file with a deadline",
            {"delivery_type": "pdf", "delivery_deadline": deadline, "file": PDF},
            ValueError,
        ),
        (
            "is_ready_to_deliver not a bool",
            {"delivery_type": "mobile_qr", "is_ready_to_deliver": "false", "in_hand_date": day},
            TypeError,
        ),
        (
            "in_hand_date a datetime",
            {
                "delivery_type": "mobile_qr",
                "is_ready_to_deliver": False,
                "in_hand_date": dt.datetime(2030, 1, 1),
            },
            TypeError,
        ),
        (
            "in_hand_date not a date",
            {"delivery_type": "mobile_qr", "is_ready_to_deliver": False, "in_hand_date": "soon"},
            ValueError,
        ),
        (
            "a file of the wrong type",
            {"delivery_type": "pdf", "is_ready_to_deliver": True, "file": 42},
            TypeError,
        ),
    ]


async def test_each_bad_order_sends_nothing(
    ptbb: BuybackClient, payout: BuybackSandbox, tmp_path: Path
) -> None:
    quote = await _quote(ptbb, payout)
    for label, kwargs, error in _bad_orders(tmp_path, _in_hand(payout)):
        with pytest.raises(error):
            await ptbb.orders.create(quote.quote_id, **kwargs)
        assert payout.request_count(ORDERS) == 0, label
    assert payout.orders_for_quote(quote.quote_id) == []


@pytest.mark.parametrize("kind", ["reset_after_commit", "status_after_commit", "truncate"])
async def test_a_lost_multipart_answer_is_never_sent_again(
    ptbb: BuybackClient, payout: BuybackSandbox, kind: str
) -> None:
    quote = await _quote(ptbb, payout)
    payout.inject(ORDERS, kind, status=503)
    with pytest.raises((APIConnectionError, ServerError)) as caught:
        await ptbb.orders.create(
            quote.quote_id, delivery_type="pdf", is_ready_to_deliver=True, file=PDF
        )
    assert caught.value.outcome_unknown is True
    assert caught.value.attempts == 1
    assert payout.request_count(ORDERS) == 1
    assert len(payout.orders_for_quote(quote.quote_id)) == 1


async def test_the_token_replay_sends_the_same_multipart_bytes(
    ptbb: BuybackClient, payout: BuybackSandbox
) -> None:
    quote = await _quote(ptbb, payout)
    payout.expire_tokens()  # the order meets TOKEN_EXPIRED, renews, and is replayed once
    order = await ptbb.orders.create(
        quote.quote_id, delivery_type="pdf", is_ready_to_deliver=True, file=PDF
    )
    first, second = payout.wire_log(ORDERS)
    assert first.status == 401
    assert second.status == 201
    assert first.request_id == second.request_id
    assert first.content_type == second.content_type  # the same boundary: the same bytes
    assert first.length == second.length
    assert second.parts is not None
    assert {p.name for p in second.parts} == {
        "quote_id",
        "delivery_type",
        "is_ready_to_deliver",
        "file",
    }
    assert payout.orders_for_quote(quote.quote_id) == [order.order_id]


async def test_the_routable_server_keeps_its_shapes(tbb: BuybackClient, sb: BuybackSandbox) -> None:
    sections = await tbb.sections.list(EVENT)
    assert all(s.section_id is not None and s.is_ga is None for s in sections)
    async with (
        sb.serve() as url,
        BuybackClient("tbb_test_nopay_2", "secret", base_url=url, retry=FAST) as poor,
    ):
        with pytest.raises(PaymentNotConfiguredError) as caught:
            await poor.quotes.create(EVENT, sb.section_names(EVENT)[0], 1)
    assert caught.value.code == "PAYMENT_NOT_CONFIGURED"


def test_an_unknown_docs_version_is_refused() -> None:
    with pytest.raises(ValueError, match="docs_version"):
        BuybackSandbox(docs_version="v2")
    with pytest.raises(ValueError, match="section_page_size"):
        BuybackSandbox(section_page_size=0)
