"""The shell entry point and the large lazy catalog (what they do, and memory).

How fast they start is measured by ``benchmarks/startup.py``, not here: on a machine whose
cores are busy with other work, a clock in a test measures the load.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap

import aiohttp
from sandbox_helpers import HEADERS


async def test_cli_starts_prints_settings_and_stops_on_ctrl_c() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ttg_async.sandbox",
        "--port",
        "0",
        "--events",
        "100000",
        "--locations",
        "20",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert first.startswith("TTG sandbox listening on http://127.0.0.1:")
        base_url = first.rsplit(" ", 1)[1].strip()
        rest = ""
        while "Ctrl-C" not in rest:
            rest += (await asyncio.wait_for(proc.stdout.readline(), 5)).decode()
        assert "sk_test_sandbox" in rest
        assert f"export TTG_BASE_URL={base_url}" in rest
        assert "export TTG_API_KEY=sk_test_sandbox" in rest
        assert "export TTG_RETAILER=" in rest
        async with aiohttp.ClientSession() as http:
            url = base_url + "/api/v3/events"
            async with http.get(url, params={"locationId": "20"}, headers=HEADERS) as resp:
                assert resp.status == 200
                assert (await resp.json())["pagination"]["total"] == 5000
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        # Drain the pipes so their transports close before the loop does.
        await proc.communicate()


_MEMORY_PROBE = textwrap.dedent(
    """
    import asyncio, time
    import aiohttp
    from ttg_async.sandbox import Sandbox

    H = {"X-TT-API-Key": "sk_test_x", "X-TT-Retailer": "r", "X-TT-Platform": "api"}

    def peak_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024

    async def main():
        t = time.perf_counter()
        sb = Sandbox(events=100_000, locations=20)
        built = time.perf_counter() - t
        seen = 0
        async with sb.serve() as url, aiohttp.ClientSession(headers=H) as http:
            for loc in range(1, 21):
                offset, total = 0, 1
                while offset < total:
                    params = {"locationId": str(loc), "limit": "1000", "offset": str(offset)}
                    async with http.get(url + "/api/v3/events", params=params) as r:
                        body = await r.json()
                    seen += len(body["data"])
                    total = body["pagination"]["total"]
                    offset += 1000
            # Touch occurrences and inventory across the whole catalog too.
            for i in range(0, 100_000, 250):
                async with http.get(f"{url}/api/v3/events/{1001 + i}/occurrences") as r:
                    occ = (await r.json())["data"][0]["id"]
                path = f"/api/v3/events/{1001 + i}/occurrences/{occ}/inventory-items"
                async with http.get(url + path) as r:
                    await r.read()
        print(built, seen, peak_mb())

    asyncio.run(main())
    """
)


def test_100k_event_catalog_is_lazy_and_small() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    _built, seen, peak = out.stdout.split()  # the build time is benchmarks/startup.py's
    assert int(seen) == 100_000
    assert float(peak) < 200, f"peak RSS {peak} MB"
