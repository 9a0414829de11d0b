"""``kill -9`` at random points, then the same command again: every record exactly once.

Real processes against a real sandbox on loopback: ``ttg crawl --resume`` (issue 17, item 7
and its acceptance), the library's ``Crawl.write_jsonl`` and ``examples/catalog_crawl.py``
(issue 18). A kill may land anywhere: before the interpreter has imported anything, before the
first checkpoint, between a line and the save that counts it, in the middle of a line, or
after the end. Each case then runs to the end and is compared with an uninterrupted crawl.

``TTG_CRAWL_KILLS=60`` runs the 60-kill acceptance of ``ttg crawl --resume`` (10 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ttg_async import TTGClient
from ttg_async.sandbox import Sandbox

# Each test starts dozens of processes; on a machine loaded many times over (two CPU burners
# and a parallel test run) they take minutes, not the default two. A hang still fails them.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_kills000000000000000000"
CODES = (None, "campaign-may")
Key = tuple[str, str, str | None]


def keys_in(path: Path) -> list[Key]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_bytes().splitlines()]
    return [(r["event"]["id"], r["occurrence"]["id"], r["rateCode"]) for r in rows]


async def reference(url: str) -> Counter[Key]:
    async with TTGClient(KEY, "r", base_url=url) as ttg:
        crawl = ttg.crawl(rate_codes=CODES)
        keys = Counter([(r.event.id, r.occurrence.id, r.rate_code) async for r in crawl])
    assert crawl.errors == []
    assert max(keys.values()) == 1
    return keys


@dataclass
class Tally:
    kills: int = 0
    before_checkpoint: int = 0  # killed before any checkpoint existed
    before_first_line: int = 0  # killed with a checkpoint but no line yet
    behind: int = 0  # killed with lines written after the last save
    half_lines: int = 0  # killed with a half-written last line
    cases: int = 0
    exits: list[int] = field(default_factory=list)

    def note_kill(self, out: Path, checkpoint: Path) -> None:
        self.kills += 1
        if not checkpoint.exists():
            self.before_checkpoint += 1
            return
        content = out.read_bytes() if out.exists() else b""
        if not content:
            self.before_first_line += 1
        if content and not content.endswith(b"\n"):
            self.half_lines += 1
        note = json.loads(checkpoint.read_bytes()).get("note") or {}
        if len(content) > note.get("ttg crawl output bytes", 0):
            self.behind += 1


async def run_killed(
    command: list[str],
    env: dict[str, str],
    out: Path,
    checkpoint: Path,
    *,
    kills: int,
    window: float,
    rng: random.Random,
    tally: Tally,
) -> None:
    """Start ``command`` again and again, each time killed after a random delay in
    ``[0, window]`` seconds, ``kills`` times (a run that ends first ends the case early),
    then once to the end; each run must exit 0 unless killed."""
    for _ in range(kills):
        process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL
        )
        try:
            await asyncio.wait_for(process.wait(), rng.uniform(0, window))
        except TimeoutError:
            # It may have ended on its own just as the delay ran out: then it is no kill.
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)
            if await process.wait() == -signal.SIGKILL:
                tally.note_kill(out, checkpoint)
                continue
        tally.exits.append(process.returncode)
        assert process.returncode == 0, command
        return  # it reached the end before the kill
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 120)
    tally.exits.append(process.returncode)
    assert process.returncode == 0, err.decode()  # never "use --overwrite"


async def kill_cases(
    make_command: Callable[[Path], list[str]],
    checkpoint_of: Callable[[Path], Path],
    tmp_path: Path,
    *,
    total_kills: int,
    per_case: int,
    seed: int,
) -> Tally:
    """Cases of up to ``per_case`` kills until ``total_kills`` kills happened; each case ends
    with the file of an uninterrupted crawl (as a set, each line once)."""
    rng = random.Random(seed)
    sandbox = Sandbox(seed=5, events=8)
    sandbox.set_latency("*", 0.003)  # a crawl long enough to be killed in the middle
    tally = Tally()
    async with sandbox.serve() as url:
        expected = await reference(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TTG_")}
        env.update(TTG_API_KEY=KEY, TTG_RETAILER="r", TTG_BASE_URL=url)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        # How long a whole run takes, start-up included: kills are spread over it.
        timing = tmp_path / "timing.jsonl"
        started = time.monotonic()
        done = await asyncio.create_subprocess_exec(
            *make_command(timing), env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL
        )
        assert await done.wait() == 0
        window = time.monotonic() - started
        assert Counter(keys_in(timing)) == expected
        while tally.kills < total_kills:
            tally.cases += 1
            out = tmp_path / f"case{tally.cases}.jsonl"
            await run_killed(
                make_command(out), env, out, checkpoint_of(out),
                kills=min(per_case, total_kills - tally.kills), window=window, rng=rng,
                tally=tally,
            )  # fmt: skip
            got = Counter(keys_in(out))
            assert max(got.values()) == 1, f"case {tally.cases}: a record twice"
            assert got == expected, f"case {tally.cases}: records missing"
    print(f"\n{tally}")  # shown with -s: where the kills landed
    return tally


def cli(out: Path) -> list[str]:
    command = [sys.executable, "-W", "error", "-m", "ttg_async", "crawl", "--out", str(out)]
    return [*command, "--rate-code", "campaign-may", "--concurrency", "4", "--json", "--resume"]


def cli_checkpoint(out: Path) -> Path:
    return out.with_name(out.name + ".checkpoint")


async def test_cli_resume_killed_before_its_first_save_resumes(tmp_path: Path) -> None:
    """Item 7: ``--resume`` with no checkpoint yet, killed before any periodic save (there is
    none for an hour), then ``--resume`` again: no "has records but no checkpoint"."""
    sandbox = Sandbox(seed=5, events=8)
    sandbox.set_latency("*", 0.003)
    async with sandbox.serve() as url:
        expected = await reference(url)
        env = {**os.environ, "TTG_API_KEY": KEY, "TTG_RETAILER": "r", "TTG_BASE_URL": url}
        out = tmp_path / "c.jsonl"
        command = [*cli(out), "--checkpoint-interval", "3600"]
        process = await asyncio.create_subprocess_exec(*command, env=env)
        while not out.exists() or out.read_bytes().count(b"\n") < 20:
            assert process.returncode is None
            await asyncio.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        again = await asyncio.create_subprocess_exec(
            *cli(out), env=env, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL
        )
        _, err = await again.communicate()
        assert again.returncode == 0, err.decode()
    got = Counter(keys_in(out))
    assert got == expected


async def test_cli_resume_survives_kill_9_anywhere(tmp_path: Path) -> None:
    """Issue 17's acceptance: ``ttg crawl --resume`` killed at random points (before the first
    save too), then ``--resume``: each record exactly once, never a need for --overwrite."""
    kills = int(os.environ.get("TTG_CRAWL_KILLS", "10"))
    tally = await kill_cases(cli, cli_checkpoint, tmp_path, total_kills=kills, per_case=3, seed=17)
    assert tally.kills == kills
    assert tally.before_checkpoint + tally.before_first_line > 0 or kills < 10


async def test_the_library_writer_survives_20_kills(tmp_path: Path) -> None:
    script = tmp_path / "write.py"
    script.write_text(
        "import asyncio, sys\n"
        "from ttg_async import TTGClient\n"
        "async def main() -> None:\n"
        "    async with TTGClient() as ttg:\n"
        "        crawl = ttg.crawl(rate_codes=[None, 'campaign-may'], concurrency=4,\n"
        "                          checkpoint=sys.argv[1] + '.ckpt', page_size=3)\n"
        "        crawl._checkpoint_interval = 0.05\n"
        "        await crawl.write_jsonl(sys.argv[1])\n"
        "asyncio.run(main())\n"
    )

    def command(out: Path) -> list[str]:
        return [sys.executable, "-W", "error", str(script), str(out)]

    tally = await kill_cases(
        command, lambda out: out.with_name(out.name + ".ckpt"), tmp_path,
        total_kills=20, per_case=4, seed=18,
    )  # fmt: skip
    assert tally.kills == 20


async def test_the_crawl_example_survives_20_kills(tmp_path: Path) -> None:
    def command(out: Path) -> list[str]:
        example = ROOT / "examples" / "catalog_crawl.py"
        options = ["--rate-code", "campaign-may", "--concurrency", "4"]
        return [sys.executable, "-W", "error", str(example), str(out), *options]

    tally = await kill_cases(
        command, lambda out: out.with_suffix(out.suffix + ".ckpt"), tmp_path,
        total_kills=20, per_case=4, seed=19,
    )  # fmt: skip
    assert tally.kills == 20
