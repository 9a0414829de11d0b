"""The client secret and every access token stay out of logs, reprs, errors and chains.

The test drives every path that handles them (token fetch, renewal, replay, a refused secret,
retries, a lost answer) with DEBUG logging captured, then searches everything a user could
print for them. It fails if any appears.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback

import pytest
from buyback_helpers import FAST

from ttg_async import TTGError
from ttg_async.buyback import BuybackClient
from ttg_async.buyback.sandbox import BuybackSandbox

SECRET = "s3cr3t-Value-42-xyzzy"
CLIENT = "tbb_test_secretive"


def _everything_about(error: BaseException) -> str:
    """What a user could print of an error: str, repr, attributes, the whole chain."""
    parts = ["".join(traceback.format_exception(error))]
    seen: BaseException | None = error
    while seen is not None:
        parts += [str(seen), repr(seen), repr(vars(seen)), repr(seen.args)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


async def test_secret_and_tokens_never_show(
    base_url: str, sb: BuybackSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sb.add_partner(CLIENT, secret=SECRET)
    shown: list[str] = []
    errors: list[TTGError] = []
    async with BuybackClient(CLIENT, SECRET, base_url=base_url, retry=FAST) as tbb:
        shown += [repr(tbb), str(tbb), repr(tbb.with_options(timeout=3))]
        shown.append(repr(tbb._shared.tokens))
        shown.append(repr(tbb._shared.config))
        await tbb.events.get("evt_1001")
        sb.advance(3600)  # expired: renewal and replay
        await tbb.events.list(limit=5).collect()
        sb.revoke_tokens()  # refused: renewal and replay
        quote = await tbb.quotes.create("evt_1001", sb.section_names("evt_1001")[0], 1)
        sb.inject("GET /v1/events/{event_id}", "status", status=503, times=5)
        sb.inject("POST /v1/orders", "reset_after_commit")
        for call in (
            tbb.events.get("evt_1001"),
            tbb.orders.create(
                quote.quote_id,
                delivery_type="pdf",
                delivery_deadline=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
            ),
        ):
            with pytest.raises(TTGError) as caught:
                await call
            errors.append(caught.value)
        sb.clear_faults()
        sb.revoke_tokens()
        sb.tokens_born_expired = True  # the renewed token is refused too
        with pytest.raises(TTGError) as caught:
            await tbb.sections.list("evt_1001")
        errors.append(caught.value)
    async with BuybackClient(CLIENT, SECRET + "-wrong", base_url=base_url) as wrong:
        shown.append(repr(wrong))
        with pytest.raises(TTGError) as caught:
            await wrong.events.get("evt_1001")
        errors.append(caught.value)

    tokens = sb.issued_tokens(CLIENT)
    assert len(tokens) >= 4  # the flows above really did fetch and renew
    assert [type(e).__name__ for e in errors] == [
        "ServerError",
        "APIConnectionError",
        "TokenExpiredError",
        "InvalidCredentialsError",
    ]
    haystack = "\n".join(shown + [_everything_about(e) for e in errors])
    haystack += "\n" + caplog.text
    haystack += "\n" + "\n".join(repr(vars(r)) for r in caplog.records)
    assert "request req_" in caplog.text  # DEBUG logging really was captured
    for needle in [SECRET, *tokens]:
        assert needle not in haystack
