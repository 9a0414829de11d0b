"""The shared room: what every API client in ttg_async is built on.

Nothing here names an API. Each API brings its own protocol (headers, envelope, error
mapping), models and resources, and runs its calls through this core:

- ``errors``: the exception tree every client raises.
- ``config``: the "not given" sentinel and checks shared by every client's settings.
- ``transport``: the one aiohttp seam (``Transport``, ``RequestSpec``, ``RawResponse``).
- ``retry``: ``RetryPolicy``, the pure decision table, the rate-limit gate and the retry loop.
- ``decoding``: msgspec decoders with fallback members for unknown ``_type`` tags.
- ``pagination``: ``Page`` and the generic ``Paginator``.
- ``pipeline``: one call, end to end: gate, retry loop, transport, decode.
"""
