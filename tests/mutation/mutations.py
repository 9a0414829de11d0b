"""The mutations: each breaks one safety property of the retry, transport, idempotency or
pagination code the way a plausible bug would, and names the tests expected to catch it.

Each is an exact text replacement that must match once in its file; a mutation whose text no
longer matches is reported as stale, so the list cannot silently rot when the code moves.
"""

from __future__ import annotations

from dataclasses import dataclass

RETRY = "ttg_async/_core/retry.py"
TRANSPORT = "ttg_async/_core/transport.py"
PIPELINE = "ttg_async/_core/pipeline.py"
PAGINATION = "ttg_async/_core/pagination.py"
RESOURCES = "ttg_async/_ttg/resources.py"
DECODING = "ttg_async/_core/decoding.py"
MODELS = "ttg_async/_ttg/models.py"
TIERS = "ttg_async/_ttg/tiers.py"
AUTH = "ttg_async/buyback/_auth.py"
BUYBACK_CLIENT = "ttg_async/buyback/_client.py"
BB_PROTOCOL = "ttg_async/buyback/_protocol.py"
BB_ERRORS = "ttg_async/buyback/_errors.py"
BB_BODIES = "ttg_async/buyback/_bodies.py"
BB_RESOURCES = "ttg_async/buyback/_resources.py"
BB_CLIENT = "ttg_async/buyback/_client.py"
CRAWL = "ttg_async/_ttg/crawl.py"
CRAWL_CLI = "ttg_async/_commands/_crawl.py"
CHECKS = "ttg_async/_core/checks.py"
WIRE = "ttg_async/_core/wire.py"
CONFIG = "ttg_async/_core/config.py"
CLI = "ttg_async/_cli.py"
BB_RESOURCES = "ttg_async/buyback/_resources.py"

FAULTS = "tests/test_faults.py"
TIMEOUTS = "tests/test_timeouts.py"
TRANSPORT_TESTS = "tests/test_transport.py"
CLIENT = "tests/test_client.py"
RETRY_TESTS = "tests/test_retry.py"
PAGINATION_TESTS = "tests/test_pagination.py"
DECODING_TESTS = "tests/test_decoding.py"
VERSIONS = "tests/test_versions.py"
TIERS_TESTS = "tests/test_tiers.py"
TOKENS = "tests/buyback/test_buyback_token_lifecycle.py"
BB_PAYOUT_TESTS = "tests/buyback/test_buyback_payout.py"
BB_OPTIONS_TESTS = "tests/buyback/test_buyback_options.py"
CRAWL_TESTS = "tests/test_crawl.py"
CHECKPOINT_TESTS = "tests/test_crawl_checkpoint.py"
JSONL_TESTS = "tests/test_crawl_jsonl.py"
INPUTS = "tests/test_inputs.py"
BB_INPUTS = "tests/buyback/test_buyback_inputs.py"
HOOKS = "ttg_async/_core/hooks.py"
TELEMETRY = "ttg_async/_core/telemetry.py"
TELEMETRY_TESTS = "tests/test_telemetry.py"
HOT = "ttg_async/_core/hot.py"
HOT_TESTS = "tests/test_hot_reads.py"
BB_HOT_TESTS = "tests/buyback/test_buyback_hot.py"


@dataclass(frozen=True)
class Mutation:
    id: str
    path: str
    old: str
    new: str
    why: str
    tests: tuple[str, ...]


MUTATIONS: tuple[Mutation, ...] = (
    # -- retry: the decision table ------------------------------------------------------
    Mutation(
        "retry-5xx-unsafe-post",
        RETRY,
        'return RetryDecision(False, f"{label} on {method.upper()}: may be processed")',
        'return RetryDecision(True, f"{label} on {method.upper()}: may be processed")',
        "the decision table retries a 5xx on POST /carts",
        (FAULTS, RETRY_TESTS),
    ),
    Mutation(
        "loop-retries-any-server-error",
        RETRY,
        "        if not verdict.retry:\n",
        "        if not verdict.retry and not isinstance(last, ServerError):\n",
        "the retry loop retries any ServerError, whatever the decision table says",
        (FAULTS,),
    ),
    Mutation(
        "retry-sent-unsafe-post",
        RETRY,
        'return RetryDecision(False, f"{what} after sending {method.upper()}: may be processed")',
        'return RetryDecision(True, f"{what} after sending {method.upper()}: may be processed")',
        "a reset or timeout after sending POST /carts is retried",
        (FAULTS, RETRY_TESTS),
    ),
    Mutation(
        "retry-unreadable-unsafe-2xx",
        RETRY,
        'return RetryDecision(False, f"{label}: unreadable body, but the POST was processed")',
        'return RetryDecision(True, f"{label}: unreadable body, but the POST was processed")',
        "a POST /carts whose 2xx body was unreadable is sent again",
        (RETRY_TESTS, FAULTS),
    ),
    Mutation(
        "retry-never-statuses",
        RETRY,
        'return RetryDecision(False, f"{label} is never retried")',
        'return RetryDecision(True, f"{label} is never retried")',
        "409 TOTAL_PRICE_MISMATCH, 400, 404, 410 ... are retried",
        (RETRY_TESTS, CLIENT),
    ),
    Mutation(
        "unsent-not-retried",
        RETRY,
        'return RetryDecision(True, f"{what} before the request was sent")',
        'return RetryDecision(kind != "unsafe", f"{what} before the request was sent")',
        "a POST /carts that provably never left is not retried",
        (TRANSPORT_TESTS, RETRY_TESTS),
    ),
    Mutation(
        "keyed-post-unsafe",
        RETRY,
        "    if keyed:\n",
        "    if False:\n",
        "a POST with an Idempotency-Key is treated as unsafe (never retried after a 5xx)",
        (FAULTS, RETRY_TESTS),
    ),
    # -- retry: the loop ----------------------------------------------------------------
    Mutation(
        "outcome-not-sticky",
        RETRY,
        "effect = effect or may_have_taken_effect(method, path, last)",
        "effect = may_have_taken_effect(method, path, last)",
        "outcome_unknown forgets an earlier attempt that may have acted",
        (RETRY_TESTS, FAULTS),
    ),
    Mutation(
        "budget-ignores-deadline",
        RETRY,
        "budget = timeout if remaining is None else min(timeout, remaining)",
        "budget = timeout",
        "an attempt is not shortened to what is left of the deadline",
        (RETRY_TESTS, TIMEOUTS),
    ),
    Mutation(
        "sleep-across-deadline",
        RETRY,
        "if remaining is not None and wait >= remaining:",
        "if False:",
        "a wait that would cross the deadline is slept anyway",
        (RETRY_TESTS, TIMEOUTS),
    ),
    Mutation(
        "no-deadline-check-before-attempt",
        RETRY,
        "if remaining is not None and remaining <= 0:",
        "if False:",
        "an attempt is made although the deadline has run out",
        (TIMEOUTS, RETRY_TESTS),
    ),
    Mutation(
        "retry-after-cap-ignored",
        RETRY,
        "        if error.retry_after > policy.max_retry_after:\n            return None\n",
        "",
        "a Retry-After beyond max_retry_after is slept instead of giving up",
        (RETRY_TESTS, TIMEOUTS),
    ),
    Mutation(
        "gate-not-closed",
        RETRY,
        "gate.close_until(loop.time() + pause)",
        "pass",
        "a 429 with Retry-After does not pause the other tasks of the client",
        (RETRY_TESTS, TIMEOUTS),
    ),
    Mutation(
        "one-attempt-too-many",
        RETRY,
        "if made >= policy.max_attempts:",
        "if made > policy.max_attempts:",
        "max_attempts is exceeded by one",
        (RETRY_TESTS, FAULTS),
    ),
    # -- transport ----------------------------------------------------------------------
    Mutation(
        "no-clamp-after-late-slot",
        TRANSPORT,
        "aio_timeout = self._timeout_for(max(0.001, min(timeout, left)), cache=False)",
        "aio_timeout = self._timeout_for(timeout, cache=False)",
        "an attempt that got its connection slot late keeps its whole budget",
        (TIMEOUTS,),
    ),
    Mutation(
        "no-backstop",
        TRANSPORT,
        "                total=budget,\n",
        "                total=None,\n",
        "no timeout around the whole attempt: a dripping server holds the caller",
        (TIMEOUTS,),
    ),
    Mutation(
        "slot-leak",
        TRANSPORT,
        "                _SENDING.reset(sending)\n            slots.release()\n",
        "                _SENDING.reset(sending)\n            pass\n",
        "a connection slot is never given back",
        (TIMEOUTS, FAULTS),
    ),
    Mutation(
        "refused-counts-as-sent",
        TRANSPORT,
        (
            'f"could not connect to {self._base_url}: {exc.os_error.strerror or exc}",\n'
            "                request_id=request.request_id,\n"
            "                request_sent=False,\n"
        ),
        (
            'f"could not connect to {self._base_url}: {exc.os_error.strerror or exc}",\n'
            "                request_id=request.request_id,\n"
        ),
        "a refused connection is reported as a sent request",
        (TRANSPORT_TESTS,),
    ),
    Mutation(
        "connection-untraced",
        TRANSPORT,
        "        attempt.connected = True\n",
        "        pass\n",
        "every timed-out attempt passes for one that never connected (POST /carts re-sent)",
        (FAULTS, TRANSPORT_TESTS),
    ),
    Mutation(
        "cut-body-counts-as-unsent",
        TRANSPORT,
        (
            'f"{request.method} {request.path}: the response body was cut off",\n'
            "                request_id=request.request_id,\n"
        ),
        (
            'f"{request.method} {request.path}: the response body was cut off",\n'
            "                request_id=request.request_id,\n"
            "                request_sent=False,\n"
        ),
        "a body cut off mid-way is reported as never sent (so POST /carts is retried)",
        (FAULTS,),
    ),
    Mutation(
        "disconnect-counts-as-unsent",
        TRANSPORT,
        '"without answering",\n                request_id=request.request_id,\n',
        (
            '"without answering",\n'
            "                request_id=request.request_id,\n"
            "                request_sent=False,\n"
        ),
        "a server that hung up without answering is taken to have never seen the request",
        (TRANSPORT_TESTS, FAULTS),
    ),
    # -- idempotency --------------------------------------------------------------------
    Mutation(
        "fresh-key-per-attempt",
        PIPELINE,
        "        return self.transport.send(spec, timeout=budget, deadline_at=deadline_at)\n",
        (
            "        fresh = lambda h: h if h is None or IDEMPOTENCY_HEADER not in h else "
            "{**h, IDEMPOTENCY_HEADER: 'idem_' + __import__('os').urandom(8).hex()}\n"
            "        return self.transport.send("
            "__import__('msgspec').structs.replace(spec, "
            "headers=fresh(spec.headers), own_headers=fresh(spec.own_headers)), "
            "timeout=budget, deadline_at=deadline_at)\n"
        ),
        "every attempt of a checkout sends a fresh Idempotency-Key",
        (FAULTS,),
    ),
    Mutation(
        "key-not-on-error",
        RESOURCES,
        "        except TTGError as exc:\n"
        "            exc.idempotency_key = key\n"
        "            raise\n",
        "        except TTGError:\n            raise\n",
        "a failed checkout does not tell the caller which key it used",
        (FAULTS,),
    ),
    Mutation(
        "callers-key-ignored",
        RESOURCES,
        "        else:\n            key = idempotency_key\n",
        "        else:\n            key = new_idempotency_key()\n",
        "a key passed by the caller is replaced by a new one",
        (CLIENT, FAULTS),
    ),
    # -- pagination and idempotent deletes ----------------------------------------------
    Mutation(
        "prefetch-not-cancelled",
        PAGINATION,
        "            for task in window:\n                task.cancel()\n",
        "            for task in window:\n                pass\n",
        "prefetched pages keep running after the caller stopped",
        (PAGINATION_TESTS,),
    ),
    Mutation(
        "occurrence-pages-not-joined",
        RESOURCES,
        "        if following is None:\n            return answer[0]\n",
        "        if True:\n            return answer[0]\n",
        "a paged occurrence (or inventory) list returns its first page only",
        (CLIENT, VERSIONS),
    ),
    Mutation(
        "delete-404-raised",
        RESOURCES,
        "        except (NotFoundError, GoneError):\n",
        "        except GoneError:\n",
        "deleting a cart the server no longer has raises NotFoundError",
        (CLIENT,),
    ),
    Mutation(
        "delete-410-raised",
        RESOURCES,
        "        except (NotFoundError, GoneError):\n",
        "        except NotFoundError:\n",
        "deleting a cart the server says is gone (410) raises GoneError",
        (CLIENT,),
    ),
    # -- the pipeline's straight first attempt (no deadline: the default policy) ------------
    Mutation(
        "straight-path-failure-dropped",
        PIPELINE,
        "            failed=failed,\n",
        "            failed=None,\n",
        "a failed first attempt is forgotten, and the loop sends the request again unjudged",
        (FAULTS,),
    ),
    Mutation(
        "straight-path-retries-anything",
        PIPELINE,
        "            except TTGError as exc:\n                failed = exc\n",
        "            except TTGError:\n"
        "                return decode(await transport.send(spec, timeout=timeout), "
        "spec.request_id)\n",
        "the straight path re-sends any failed first attempt, POST /carts included",
        (FAULTS,),
    ),
    # -- decoding: the retag fast path must never change what a body decodes to ----------
    Mutation(
        "retag-unchecked",
        DECODING,
        "            return result if self._count(result) == rewrites else None\n",
        "            return result\n",
        "a tag rewritten inside a free-form value is trusted (the user's data is changed)",
        (DECODING_TESTS,),
    ),
    Mutation(
        "retag-ignores-fallback-literal",
        DECODING,
        "        if not self._needles or self._literal in body:\n",
        "        if not self._needles:\n",
        "a body already holding the fallback's tag can make a wrong rewrite count right",
        (DECODING_TESTS,),
    ),
    # -- TTG published versions (issue 16): paged lists, orders without a status --------
    Mutation(
        "inventory-first-page-only",
        RESOURCES,
        "        return await self._whole_list(\n"
        "            request_path, _DECODE_INVENTORY, query, call_options(extra_headers, timeout)\n"
        "        )\n",
        "        query.update(limit=WHOLE_LIST_LIMIT, offset=0)\n"
        "        items, _ = await self._client._request(\n"
        '            "GET", request_path, _DECODE_INVENTORY, query=query,\n'
        "            options=call_options(extra_headers, timeout),\n"
        "        )\n"
        "        return items\n",
        "inventory sends limit and offset but reads only the first page of a paged answer",
        (VERSIONS,),
    ),
    Mutation(
        "whole-lists-first-request-unpaged",
        RESOURCES,
        '        first = {**query, "limit": WHOLE_LIST_LIMIT, "offset": 0}\n',
        "        first = dict(query)\n",
        "the first request of a list goes without limit/offset, as the guides' reading had it",
        (VERSIONS,),
    ),
    Mutation(
        "paging-advances-by-asked-limit",
        RESOURCES,
        "    return Page(items, pagination.limit, pagination.offset, pagination.total)\n",
        "    return Page(items, limit, pagination.offset, pagination.total)\n",
        "pages advance by the limit asked for, not the (smaller) one the server reports",
        (VERSIONS,),
    ),
    Mutation(
        "order-status-required",
        MODELS,
        "    id: str\n    status: str | None = None\n",
        "    id: str\n    status: str\n",
        "an order without status fails to decode although it was placed",
        (VERSIONS,),
    ),
    Mutation(
        "payment-not-sent",
        RESOURCES,
        '            checkout["payment"] = _json_object(payment, "payment")\n',
        '            _json_object(payment, "payment")\n',
        "orders.create checks payment but never sends it",
        (VERSIONS,),
    ),
    # -- issue 19: bugs nobody planted (backoff, tiers) ----------------------------------
    Mutation(
        "backoff-never-grows",
        RETRY,
        "            wait = retry_wait(policy, made - 1, last)\n",
        "            wait = retry_wait(policy, 0, last)\n",
        "every retry waits the first step's time: the backoff never grows",
        (RETRY_TESTS,),
    ),
    Mutation(
        "tiers-compare-across-currencies",
        TIERS,
        "    if len(currencies) > 1:\n",
        "    if not currencies:\n",
        "the cheapest tier is picked by amount across different currencies",
        (TIERS_TESTS,),
    ),
    Mutation(
        "tiers-tie-goes-to-the-last",
        TIERS,
        "    return min(prices, key=lambda price: price.sell_price.amount)\n",
        "    return min(reversed(prices), key=lambda price: price.sell_price.amount)\n",
        "when two tiers tie for cheapest, the later one is returned",
        (TIERS_TESTS,),
    ),
    Mutation(
        "retry-with-any-deadline-left",
        RETRY,
        "            and remaining < min(MIN_RETRY_BUDGET, timeout)\n",
        "            and remaining < 0 * min(MIN_RETRY_BUDGET, timeout)\n",
        "a retry is started with a few milliseconds of the deadline left",
        (RETRY_TESTS, TIMEOUTS),
    ),
    # -- issue 19: the Buyback token's life ---------------------------------------------
    Mutation(
        "token-lifetime-from-arrival",
        AUTH,
        "        sent_at = loop.time()\n        self.requests += 1\n"
        "        try:\n            token, server_now = await fetch()\n",
        "        self.requests += 1\n"
        "        try:\n            token, server_now = await fetch()\n"
        "            sent_at = loop.time()\n",
        "a token's lifetime is counted from its answer, not its request: kept past its end",
        (TOKENS,),
    ),
    Mutation(
        "refused-token-kept",
        AUTH,
        "            self._current = None  # never hand the refused token out again\n",
        "            pass\n",
        "a token the server refused stays current and is sent again by the next call",
        (TOKENS,),
    ),
    Mutation(
        "token-flight-unshielded",
        AUTH,
        "        cached = await asyncio.shield(flight)\n",
        "        cached = await flight\n",
        "the first waiter's cancellation cancels the token request every other caller awaits",
        (TOKENS,),
    ),
    Mutation(
        "token-failure-outcome-unknown",
        BUYBACK_CLIENT,
        "            exc.outcome_unknown = False\n            raise\n",
        "            raise\n",
        "a call whose token request failed is marked outcome_unknown, though it was never sent",
        (TOKENS,),
    ),
    Mutation(
        "deadline-skips-token-request",
        BUYBACK_CLIENT,
        "            return await self._fetch_token(remaining_policy(), timeout)\n",
        "            return await self._fetch_token(\n"
        "                dataclasses.replace(policy, deadline=None), timeout\n"
        "            )\n",
        "a call's deadline does not cover its token request: a hanging endpoint holds it",
        (TOKENS,),
    ),
    # -- buyback payout version (issue 16) --
    Mutation(
        "bb-multipart-order-retried",
        BB_PROTOCOL,
        '        headers["Content-Type"] = body.content_type\n',
        '        headers["Content-Type"] = body.content_type\n'
        '        headers["Idempotency-Key"] = rid\n',
        "multipart order retried after a lost answer (marked keyed, so the retry table resends)",
        (BB_PAYOUT_TESTS,),
    ),
    Mutation(
        "bb-payout-code-not-mapped",
        BB_ERRORS,
        '    "PAYOUT_METHOD_NOT_CONFIGURED": PaymentNotConfiguredError,\n',
        "",
        "PAYOUT_METHOD_NOT_CONFIGURED not mapped (a bare PermissionDeniedError)",
        (BB_PAYOUT_TESTS,),
    ),
    Mutation(
        "bb-sections-first-page-only",
        BB_RESOURCES,
        "            Section,\n            {},\n            call_options(extra_headers, timeout),\n"
        "            limit=MAX_EVENTS_LIMIT,\n            offset=0,\n"
        "            first_page_plain=True,\n"
        "        )\n        return await walk.collect()\n",
        "            Section,\n            {},\n            call_options(extra_headers, timeout),\n"
        "            limit=MAX_EVENTS_LIMIT,\n            offset=0,\n"
        "            first_page_plain=True,\n"
        "        )\n        return (await anext(walk.pages())).items\n",
        "sections stop after the first page (a payout server pages them)",
        (BB_PAYOUT_TESTS,),
    ),
    Mutation(
        "bb-pdf-size-check-removed",
        BB_BODIES,
        "    if len(data) > MAX_PDF_BYTES:\n",
        "    if False:\n",
        "file size check removed: a PDF over 10 MB is sent",
        (BB_PAYOUT_TESTS,),
    ),
    Mutation(
        "bb-pdf-magic-check-removed",
        BB_BODIES,
        "    if not data.startswith(PDF_MAGIC):\n",
        "    if False:\n",
        "a file that is not a PDF is sent",
        (BB_PAYOUT_TESTS,),
    ),
    Mutation(
        "bb-pdf-file-not-required",
        BB_BODIES,
        '    if kind == "pdf" and file is None:\n',
        "    if False:\n",
        "a pdf order without its file is sent",
        (BB_PAYOUT_TESTS,),
    ),
    Mutation(
        "bb-in-hand-date-not-required",
        BB_BODIES,
        "    if not ready and day is None:\n",
        "    if False:\n",
        "a not-ready order without its in-hand date is sent",
        (BB_PAYOUT_TESTS,),
    ),
    Mutation(
        "bb-both-order-forms-accepted",
        BB_RESOURCES,
        "        if delivery_deadline is not None and multipart:\n",
        "        if False:\n",
        "an order given both forms is sent as multipart, its deadline silently dropped",
        (BB_PAYOUT_TESTS,),
    ),
    Mutation(
        "bb-face-value-as-string",
        BB_PROTOCOL,
        '_encoder: Final = msgspec.json.Encoder(decimal_format="number")\n',
        "_encoder: Final = msgspec.json.Encoder()\n",
        'face_value sent as a JSON string ("89.50"), not a number',
        (BB_PAYOUT_TESTS,),
    ),
    Mutation(
        "bb-extra-headers-dropped",
        BB_CLIENT,
        "                spec = _with_headers(spec, extra)\n",
        "                pass\n",
        "a Buyback call's extra_headers= never reach the server",
        (BB_OPTIONS_TESTS,),
    ),
    Mutation(
        "bb-call-timeout-ignored",
        BB_CLIENT,
        "                timeout = check_timeout(options.timeout)\n",
        "                check_timeout(options.timeout)\n",
        "a Buyback call's timeout= is checked but not applied",
        (BB_OPTIONS_TESTS,),
    ),
    # -- crawl checkpoints and JSON Lines (issues 17/18) ----------------------------------
    Mutation(
        "checkpoint-written-in-place",
        CRAWL,
        "            fd, tmp = tempfile.mkstemp(prefix=f"
        '".{self.path.name}.", suffix=".tmp", dir=directory)\n',
        "            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n"
        "            tmp = str(self.path)\n",
        "the checkpoint is overwritten in place: a crash mid-write leaves half a checkpoint",
        (CHECKPOINT_TESTS,),
    ),
    Mutation(
        "checkpoint-schema-lax",
        CRAWL,
        "_read_checkpoint: Final = msgspec.json.Decoder(_CheckpointFile)\n",
        "_read_checkpoint: Final = msgspec.json.Decoder(_CheckpointFile, strict=False)\n",
        "the checkpoint is read without the strict schema (1 passes for true, '5' for 5)",
        (CHECKPOINT_TESTS, JSONL_TESTS),
    ),
    Mutation(
        "checkpoint-ids-unchecked",
        CRAWL,
        "_Id: TypeAlias = Annotated[str, msgspec.Meta(min_length=1)]\n",
        "_Id: TypeAlias = str\n",
        "an empty ID in a checkpoint is believed",
        (CHECKPOINT_TESTS,),
    ),
    Mutation(
        "checkpoint-unit-codes-unchecked",
        CRAWL,
        "                if code not in codes:\n                    raise self._refuse(\n",
        "                if False:\n                    raise self._refuse(\n",
        "a finished unit at a rate code the crawl does not ask for is believed",
        (CHECKPOINT_TESTS,),
    ),
    Mutation(
        "no-checkpoint-at-start",
        CRAWL,
        "            self._save(force=True)\n"
        '            self._runner = asyncio.create_task(self._run(), name="ttg_async crawl")\n',
        '            self._runner = asyncio.create_task(self._run(), name="ttg_async crawl")\n',
        "the first checkpoint waits for the first periodic save (a kill before it: no checkpoint)",
        (CHECKPOINT_TESTS,),
    ),
    Mutation(
        "checkpoint-failure-repeats",
        CRAWL,
        "            self._storage_failed = True  # raised here, once; "
        "the crawl saves nothing more\n",
        "            pass\n",
        "a checkpoint that cannot be written is tried again, and aclose() raises again",
        (CHECKPOINT_TESTS,),
    ),
    Mutation(
        "half-line-kept-on-resume",
        CRAWL,
        "            file.truncate(size)  # lines written after the last save, "
        "a half line included\n"
        "            file.seek(size)\n",
        "            file.seek(0, os.SEEK_END)\n",
        "resuming write_jsonl keeps what follows the last save, a half-written line included",
        (JSONL_TESTS,),
    ),
    Mutation(
        "duplicate-rate-code-crawled-twice",
        CRAWL,
        "        if code not in codes:\n            codes.append(code)\n",
        "        codes.append(code)\n",
        "a rate code given twice is crawled twice (each record twice)",
        (CHECKPOINT_TESTS,),
    ),
    Mutation(
        "crawl-runner-not-awaited",
        CRAWL,
        "            await asyncio.wait({runner})\n",
        "            pass\n",
        "aclose() returns while the crawl's runner and workers are still unwinding",
        (CHECKPOINT_TESTS,),
    ),
    Mutation(
        "crawl-error-loses-rate-code",
        CRAWL,
        '        else f"occurrence {occurrence_id} rate_code {code}"\n',
        '        else f"occurrence {occurrence_id}"\n',
        "CrawlError.where no longer says at which rate code a unit failed",
        (CHECKPOINT_TESTS,),
    ),
    Mutation(
        "cli-resume-starts-over",
        CRAWL_CLI,
        "                await crawl.write_jsonl(out, resume=resume)\n",
        "                await crawl.write_jsonl(out, resume=False)\n",
        "ttg crawl --resume empties the file and crawls everything again",
        (JSONL_TESTS,),
    ),
    # -- TTG sandbox hardening (issue 17) --------------------------------------------------
    Mutation(
        "sandbox-413-plain-text",
        "ttg_async/sandbox/_app.py",
        "            if exc.status < 400:\n                raise\n",
        "            raise\n",
        "a body over the limit (aiohttp's 413) is answered in aiohttp's plain text",
        ("tests/sandbox/test_sandbox_hardening.py",),
    ),
    Mutation(
        "sandbox-parser-errors-plain-text",
        "ttg_async/sandbox/_sandbox.py",
        "render_error=app.render_error",
        "render_error=None",
        "a request aiohttp cannot parse (or a crash) is answered in aiohttp's plain text",
        ("tests/sandbox/test_sandbox_hardening.py",),
    ),
    Mutation(
        "sandbox-405-without-allow",
        "ttg_async/sandbox/_app.py",
        '            resp.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))\n',
        "",
        "a wrong method is a 405 without Allow",
        ("tests/sandbox/test_sandbox_hardening.py", "tests/contract/test_contract_schemathesis.py"),
    ),
    Mutation(
        "sandbox-content-type-not-enforced",
        "ttg_async/sandbox/_app.py",
        'if request.method == "POST" and request.content_type != _JSON:',
        "if False:",
        "a POST whose body is not application/json is decoded anyway",
        ("tests/sandbox/test_sandbox_hardening.py", "tests/contract/test_contract_schemathesis.py"),
    ),
    Mutation(
        "sandbox-no-connection-cap",
        "ttg_async/sandbox/_plumbing.py",
        "        if len(self.open) <= self.cap:\n            return\n",
        "        return\n",
        "no cap on open connections: 1,100 idle ones use up the descriptors, and no one is served",
        ("tests/sandbox/test_sandbox_hardening.py",),
    ),
    Mutation(
        "sandbox-cap-evicts-busy",
        "ttg_async/sandbox/_plumbing.py",
        "if c is not conn and c.idle()",
        "if c is not conn",
        "at the cap, a connection with a request in hand is cut to make room",
        ("tests/sandbox/test_sandbox_hardening.py",),
    ),
    Mutation(
        "sandbox-no-idle-timeout",
        "ttg_async/sandbox/_plumbing.py",
        "        keepalive_timeout=idle_timeout,\n",
        "",
        "idle connections stay open for aiohttp's hour, silent or half a request line",
        ("tests/sandbox/test_sandbox_hardening.py",),
    ),
    Mutation(
        "sandbox-no-loopback-warning",
        "ttg_async/sandbox/_plumbing.py",
        "    if is_loopback(host):\n        return\n",
        "    return\n",
        "a sandbox bound beyond loopback says nothing, though test keys now work from the network",
        ("tests/sandbox/test_sandbox_hardening.py",),
    ),
    Mutation(
        "sandbox-unreadable-body-500",
        "ttg_async/sandbox/_app.py",
        "        except web.RequestPayloadError:\n",
        "        except ZeroDivisionError:\n",
        "a body aiohttp cannot read (bad gzip) is the sandbox's own 500, not the client's 400",
        ("tests/sandbox/test_sandbox_hardening.py",),
    ),
    # -- inputs (issue 17) --------------------------------------------------------------
    Mutation(
        "dot-segment-id-allowed",
        CHECKS,
        '    if value == "." or value == "..":\n',
        "    if False:\n",
        "an ID of '.' or '..' passes the argument check (only the unnamed backstop is left)",
        (INPUTS, BB_INPUTS, BB_OPTIONS_TESTS),
    ),
    Mutation(
        "dot-segment-backstop-removed",
        WIRE,
        '        if not segment or segment == "." or segment == "..":\n',
        "        if not segment:\n",
        "quote_path builds a path with a '.' or '..' segment, which aiohttp resolves away",
        (INPUTS,),
    ),
    Mutation(
        "surrogate-check-disabled",
        CHECKS,
        "    bad = None if value.isascii() else _SURROGATE.search(value)\n",
        "    bad = None\n",
        "a lone surrogate in an ID or a query value is not refused (a UnicodeEncodeError "
        "leaks out, or an encoder drops it and sends an empty value)",
        (INPUTS, BB_INPUTS),
    ),
    Mutation(
        "surrogate-query-backstop-removed",
        WIRE,
        "        (name, check_sendable(_query_value(value), name))\n",
        "        (name, _query_value(value))\n",
        "query_pairs passes on a value with a lone surrogate",
        (INPUTS,),
    ),
    Mutation(
        "surrogate-filter-unchecked",
        BB_RESOURCES,
        '        raise ValueError(f"{field}: must not be empty; pass None to leave the filter '
        'out")\n'
        "    return sendable_text(value, field)\n",
        '        raise ValueError(f"{field}: must not be empty; pass None to leave the filter '
        'out")\n'
        "    return value\n",
        "a Buyback event filter with a lone surrogate is refused only after the token request",
        (BB_INPUTS,),
    ),
    Mutation(
        "base-url-port-unchecked",
        CONFIG,
        "        port = parts.port\n",
        "        port = None\n",
        "a base URL with port 99999 (or 0) passes construction",
        (INPUTS, BB_INPUTS),
    ),
    Mutation(
        "base-url-dot-segment-allowed",
        CONFIG,
        '    if any(unquote(s) in (".", "..") for s in parts.path.split("/")):\n',
        "    if False:\n",
        "a base URL whose path holds '..' passes construction (and every call goes elsewhere)",
        (INPUTS, BB_INPUTS),
    ),
    Mutation(
        "base-url-characters-unchecked",
        CONFIG,
        "    bad = _NOT_URL.search(base_url)\n",
        "    bad = None\n",
        "a base URL with CR/LF, a space or a C1 control passes construction",
        (INPUTS, BB_INPUTS),
    ),
    Mutation(
        "url-requoted-by-yarl",
        TRANSPORT,
        "            url = URL(self._base_url + target, encoded=True)\n",
        "            url = URL(self._base_url + target)\n",
        "yarl re-normalises the encoded path: the path sent is not the one the error names",
        (INPUTS,),
    ),
    Mutation(
        "query-delimiters-unencoded",
        WIRE,
        '    return quote(text, safe="")\n',
        '    return quote(text, safe="&=/")\n',
        "a query value holding & or = splits into other parameters on the server",
        (INPUTS, BB_INPUTS),
    ),
    Mutation(
        "target-length-unchecked",
        WIRE,
        "    if len(target) > MAX_TARGET:\n",
        "    if False:\n",
        "a request line past 8000 octets is sent, for a server to refuse or cut",
        (INPUTS,),
    ),
    Mutation(
        "invalid-url-counts-as-sent",
        TRANSPORT,
        "        except aiohttp.InvalidURL as exc:\n",
        "        except ZeroDivisionError as exc:\n",
        "aiohttp's InvalidURL becomes a sent APIConnectionError: retried, outcome unknown",
        (INPUTS,),
    ),
    Mutation(
        "header-name-unchecked",
        CHECKS,
        "        if not _TOKEN.fullmatch(name):\n",
        "        if not name:\n",
        "an extra header name with a space, a colon or a non-ASCII letter is sent",
        (INPUTS,),
    ),
    Mutation(
        "c1-allowed-in-credentials",
        CONFIG,
        '    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")\n',
        '    return unicodedata.category(char) in ("Cs", "Co", "Cn")\n',
        "a key, retailer or client secret with NEL, CSI or U+2028 passes construction",
        (INPUTS, BB_INPUTS),
    ),
    Mutation(
        "idempotency-key-length-unchecked",
        RESOURCES,
        "        elif len(idempotency_key) > _MAX_IDEMPOTENCY_KEY:\n",
        "        elif False:\n",
        "an idempotency key of 300 characters is sent, for the server to refuse",
        (INPUTS,),
    ),
    Mutation(
        "delivery-deadline-overflow-bare",
        BB_BODIES,
        "    except OverflowError:\n",
        "    except ZeroDivisionError:\n",
        "a year-9999 delivery deadline raises a bare OverflowError",
        (BB_INPUTS,),
    ),
    Mutation(
        "recursion-not-mapped",
        DECODING,
        "            return self._lenient(body, error)\n        except RecursionError:\n",
        "            return self._lenient(body, error)\n        except ZeroDivisionError:\n",
        "a deeply nested 2xx answer escapes the lenient decoder as a bare RecursionError",
        (INPUTS, BB_INPUTS),
    ),
    Mutation(
        "too-deep-as-not-json",
        DECODING,
        '    return msgspec.ValidationError("the JSON document is nested too deeply to decode")\n',
        '    return msgspec.DecodeError("the JSON document is nested too deeply to decode")\n',
        "a nested answer counts as a truncated one: a placed order is retried and loses its "
        "CommittedWriteDecodeError",
        (INPUTS,),
    ),
    Mutation(
        "ttg-log-ttg-only",
        PIPELINE,
        "        configure_from_env()\n",
        "",
        "TTG_LOG is honoured only by TTGClient, so a Buyback-only program logs nothing",
        (INPUTS,),
    ),
    Mutation(
        "cli-error-unredacted",
        CLI,
        "        super().error(redact_argv(message, self._secrets))\n",
        "        super().error(message)\n",
        "argparse's error echoes the value of --api-key or --client-secret",
        (INPUTS,),
    ),
    Mutation(
        "cli-secret-after-flag-missed",
        CLI,
        "            found.append(args[index + 1])\n",
        "            pass\n",
        "a secret given as '--client-secret VALUE' (two words) is echoed",
        (INPUTS,),
    ),
    Mutation(
        "bare-401-not-renewed",
        BUYBACK_CLIENT,
        '_TOKEN_REFUSED: Final = frozenset({"TOKEN_EXPIRED", "UNAUTHORIZED", None})\n',
        '_TOKEN_REFUSED: Final = frozenset({"TOKEN_EXPIRED", "UNAUTHORIZED"})\n',
        "a 401 without an error code (a bare 401 from a proxy) does not lead to a renewal",
        (TOKENS,),
    ),
    Mutation(
        "listing-ignores-slow-consumer",
        CRAWL,
        "                await self._places.acquire()  # a slow consumer holds the listing here\n",
        "                pass\n",
        "with inventory=False a slow consumer no longer holds the crawl back",
        ("tests/test_crawl.py",),
    ),
    Mutation(
        "buyback-strict-on-undocumented-fields",
        BB_PROTOCOL,
        "    read = decode if what is None else lenient\n",
        "    read = decode\n",
        "a Buyback answer with an undocumented field in an odd shape fails the call",
        ("tests/buyback/test_buyback_protocol.py",),
    ),
    Mutation(
        "buyback-order-status-required",
        "ttg_async/buyback/_models.py",
        "    order_id: str\n    status: str | None = None\n",
        "    order_id: str\n    status: str\n",
        "a placed Buyback order whose answer has no status fails to decode",
        ("tests/buyback/test_buyback_protocol.py",),
    ),
    # -- hooks and telemetry (issue 22) --
    Mutation(
        "otel-resend-count-missing",
        TELEMETRY,
        "            if number > 1:\n",
        "            if number > 99:\n",
        "attempt spans after the first lack http.request.resend_count: a resend looks like a "
        "new request in the trace",
        (TELEMETRY_TESTS,),
    ),
    Mutation(
        "hooks-path-carries-the-query",
        PIPELINE,
        "            watch = observer.begin(spec.method, spec.path, spec.request_id)\n",
        "            watch = observer.begin(spec.method, log_target(spec), spec.request_id)\n",
        "the call is watched under the log's target (path and query, tokens masked): a private "
        "rate code reaches hook events",
        (TELEMETRY_TESTS,),
    ),
    Mutation(
        "otel-template-keeps-the-query",
        TELEMETRY,
        '        path = path.split("?", 1)[0]\n        fixed = self.fixed.get(path)\n',
        "        fixed = self.fixed.get(path)\n",
        "a path handed over with its query (the cache seam) puts the query in url.template",
        (TELEMETRY_TESTS,),
    ),
    Mutation(
        "hook-error-breaks-the-call",
        HOOKS,
        "            except Exception as exc:  # a hook's bug must not",
        "            except LookupError as exc:  # a hook's bug must not",
        "a hook that raises (anything but a LookupError) fails the call it only watches",
        (TELEMETRY_TESTS,),
    ),
    Mutation(
        "hook-log-keeps-the-chain",
        HOOKS,
        '"".join(traceback.format_exception(exc, chain=False)).rstrip(),',
        '"".join(traceback.format_exception(exc)).rstrip(),',
        "a failing hook's WARNING prints the call's error beneath it, whose message may quote "
        "the query",
        (TELEMETRY_TESTS,),
    ),
    Mutation(
        "hooks-skip-retried-attempts",
        TELEMETRY,
        "        if hooks is not None and hooks.request:\n",
        "        if hooks is not None and hooks.request and number == 1:\n",
        "request hooks are not called on a retried attempt",
        (TELEMETRY_TESTS,),
    ),
    Mutation(
        "otel-straight-path-unwatched",
        PIPELINE,
        "            if watch is not None:\n                return await self._watched(",
        "            if watch is not None and policy.deadline is not None:\n"
        "                return await self._watched(",
        "only calls with a deadline are watched: the default policy's calls make no span",
        (TELEMETRY_TESTS,),
    ),
    Mutation(
        "otel-outcome-unknown-unsaid",
        TELEMETRY,
        '                span.set_attribute("ttg.outcome_unknown", True)\n',
        "                pass\n",
        "a checkout that may have bought tickets ends as an ordinary error in the trace",
        (TELEMETRY_TESTS,),
    ),
    Mutation(
        "otel-retries-uncounted",
        RETRY,
        "                await watch.retrying(made, last, wait)\n",
        "                pass\n",
        "the loop does not tell the watch of a retry: no counter, no retry event, no hook",
        (TELEMETRY_TESTS,),
    ),
    Mutation(
        "otel-gate-wait-unrecorded",
        RETRY,
        "            watch.gate_waited(loop.time() - shut_at)\n",
        "            pass\n",
        "a wait behind the 429 gate is never recorded",
        (TELEMETRY_TESTS,),
    ),
    Mutation(
        "otel-failed-attempt-unended",
        PIPELINE,
        "                await watch.attempt_ended(seen, status, exc)\n",
        "                pass\n",
        "a failed attempt's span is never ended (nor timed, nor told to response hooks): the "
        "trace shows fewer attempts than the server saw",
        (TELEMETRY_TESTS,),
    ),
    # -- hot reads (issue 21) ---------------------------------------------------------------
    Mutation(
        "hot-key-url-alone",
        HOT,
        "    return (identity, method, path, query, headers, *flavor)\n",
        "    return (method, path, query)\n",
        "coalescing and the cache keyed on the URL alone: a French caller gets the English "
        "answer, another retailer's or key's answer is shared",
        (HOT_TESTS, BB_HOT_TESTS),
    ),
    Mutation(
        "hot-error-cached",
        HOT,
        "            except Exception as exc:\n",
        "            except Exception as exc:\n"
        "                if cache is not None:\n"
        "                    cache._store(key, exc, request_id, 0.0, tags)\n",
        "an error kept in the cache: a passing 500 is served to every later caller",
        (HOT_TESTS,),
    ),
    Mutation(
        "hot-leader-cancel-cancels-followers",
        HOT,
        "                    flight.resolve(_TAKE_OVER)\n",
        "                    for follower in flight.followers:\n"
        "                        follower.cancel()\n",
        "the first caller cancelled (a client that hung up) cancels every caller that joined "
        "its request, instead of one of them sending it again",
        (HOT_TESTS, BB_HOT_TESTS),
    ),
    Mutation(
        "hot-no-invalidation-after-order",
        RESOURCES,
        "            self._client._shared.wrote(cart, None)\n",
        "            pass\n",
        "no invalidation after an order: the cart and the inventory it bought from are served "
        "from the cache as they were before the purchase",
        (HOT_TESTS,),
    ),
    Mutation(
        "hot-followers-share-one-future",
        HOT,
        "        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()\n",
        "        waiter: asyncio.Future[Any] = next(iter(flight.followers), None) or (\n"
        "            asyncio.get_running_loop().create_future()\n"
        "        )\n",
        "followers await one shared future: one that leaves (a client that hung up) cancels it "
        "for every other caller of the request",
        (HOT_TESTS,),
    ),
    Mutation(
        "hot-followers-share-lists",
        HOT,
        "                return own(outcome)  # type: ignore[no-any-return]\n",
        "                return outcome  # type: ignore[no-any-return]\n",
        "every caller gets the same list: one handler clearing its answer empties it for all",
        (HOT_TESTS, BB_HOT_TESTS),
    ),
    # -- incremental sync (issue 24) --
    Mutation(
        "sync-failed-unit-removed",
        "ttg_async/_ttg/sync.py",
        "                if self._carried(",
        "                if False and self._carried(",
        "records beneath a location, event or occurrence that failed to load are reported as "
        "removed (a flaky night reports the catalog as sold out)",
        ("tests/test_sync.py",),
    ),
    Mutation(
        "sync-ignore-fields-ignored",
        "ttg_async/_ttg/snapshot.py",
        "        for path in self.ignore:\n            strip_path(value, path)\n",
        "        for path in self.ignore:\n            pass\n",
        "ignore_fields is accepted but not applied: changes at ignored paths are reported",
        ("tests/test_sync.py",),
    ),
    Mutation(
        "sync-resume-yields-twice",
        "ttg_async/_ttg/sync.py",
        "                    if seq <= state.taken:\n",
        "                    if seq < state.taken:\n",
        "a resumed sync yields again the last change taken before the interruption",
        ("tests/test_sync.py",),
    ),
)
