"""Mutation testing on demand: break the guarded code on purpose and see which tests notice.

Run from the repository root::

    python tests/mutation/mutate.py                 # every mutation, on a copy of HEAD
    python tests/mutation/mutate.py --list          # what the mutations are
    python tests/mutation/mutate.py --only slot-leak --only fresh-key-per-attempt
    python tests/mutation/mutate.py --tree          # the working tree, uncommitted work included
    python tests/mutation/mutate.py --rev abc1234   # an older commit (e.g. to see a test bite)
    python tests/mutation/mutate.py --report docs/mutation.md

Mutations are applied to a copy in a temporary directory, never to the tree you work in
(others may be working in it too). The copy is tested with ``PYTHONPATH`` pointing at it, and
the harness checks that ``ttg_async`` really is imported from there. For each mutation it
runs the tests the mutation names (``-x``, fixed order) and reports it *killed* (a test
failed: the name of the first one is given) or *survived*. A mutation whose text no longer
matches its file exactly once is *stale*: fix the list in ``mutations.py``. The unmutated copy
must pass those tests first, or nothing is reported.

This file is not a test module (pytest collects ``test_*.py`` only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutations import MUTATIONS, Mutation

ROOT = Path(__file__).resolve().parents[2]
PYTEST = ("-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider")
RUN_TIMEOUT = 600


@dataclass
class Result:
    mutation: Mutation
    outcome: str  # killed | survived | stale
    caught_by: str = ""
    seconds: float = 0.0


def copy_tree(dest: Path, *, working_tree: bool, rev: str = "HEAD") -> str:
    """Copy ``rev`` (or the working tree's tracked and new files) into ``dest``; describe it."""
    if working_tree:
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        for raw in filter(None, listed):
            name = raw.decode()
            source = ROOT / name
            if "node_modules" in Path(name).parts or not source.is_file():
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        return "the working tree"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    archive = dest / ".head.tar"
    subprocess.run(["git", "archive", "-o", str(archive), rev], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return f"{rev} ({commit})"


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(copy), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_import(copy: Path) -> None:
    where = subprocess.run(
        [sys.executable, "-c", "import ttg_async; print(ttg_async.__file__)"],
        cwd=copy,
        env=environment(copy),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(copy.resolve()):
        raise SystemExit(f"ttg_async imports from {where}, not from the copy {copy}")


def run_tests(copy: Path, tests: tuple[str, ...]) -> tuple[bool, str]:
    """Run ``tests`` in the copy: (passed, the first failing test or the tail of the output)."""
    try:
        done = subprocess.run(
            [sys.executable, *PYTEST, *tests],
            cwd=copy,
            env=environment(copy),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return False, f"(the run hung past {RUN_TIMEOUT} s)"
    if done.returncode == 0:
        return True, ""
    failed = re.search(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", done.stdout, re.MULTILINE)
    if failed:
        return False, failed.group(1)
    tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    return False, " / ".join(tail)


def apply(copy: Path, mutation: Mutation) -> str | None:
    """Apply ``mutation`` in the copy; return the original text, or None if it is stale."""
    target = copy / mutation.path
    original = target.read_text()
    if original.count(mutation.old) != 1:
        return None
    target.write_text(original.replace(mutation.old, mutation.new))
    return original


def report(results: list[Result], source: str, started: dt.datetime, seconds: float) -> str:
    killed = sum(r.outcome == "killed" for r in results)
    lines = [
        f"Last run: {started:%Y-%m-%d %H:%M} UTC on {source}, {len(results)} mutations, "
        f"{killed} killed, {sum(r.outcome == 'survived' for r in results)} survived, "
        f"{sum(r.outcome == 'stale' for r in results)} stale, {seconds:.0f} s.",
        "",
        "| mutation | file | what it breaks | result | caught by |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        m = r.mutation
        caught = f"`{r.caught_by}`" if r.caught_by else ""
        lines.append(f"| `{m.id}` | `{m.path}` | {m.why} | {r.outcome} | {caught} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", default=[], help="a mutation id (repeat)")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    parser.add_argument("--tree", action="store_true", help="mutate the working tree's files")
    parser.add_argument("--rev", default="HEAD", help="the commit to mutate (default HEAD)")
    parser.add_argument("--report", type=Path, help="write the results into this Markdown file")
    args = parser.parse_args(argv)

    chosen = [m for m in MUTATIONS if not args.only or m.id in args.only]
    unknown = set(args.only) - {m.id for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation ids: {', '.join(sorted(unknown))}")
    if args.list:
        for m in chosen:
            print(f"{m.id:36} {m.path:32} {m.why}")
        return 0

    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="ttg-mutants-") as tmp:
        copy = Path(tmp)
        source = copy_tree(copy, working_tree=args.tree, rev=args.rev)
        check_import(copy)
        every_test = tuple(sorted({t for m in chosen for t in m.tests}))
        print(f"baseline: {' '.join(every_test)} on {source}", flush=True)
        passed, why = run_tests(copy, every_test)
        if not passed:
            print(f"the unmutated copy fails ({why}); no mutation can be judged", file=sys.stderr)
            return 2
        for mutation in chosen:
            begun = time.monotonic()
            original = apply(copy, mutation)
            if original is None:
                results.append(Result(mutation, "stale"))
            else:
                try:
                    passed, caught = run_tests(copy, mutation.tests)
                finally:
                    (copy / mutation.path).write_text(original)
                outcome = "survived" if passed else "killed"
                results.append(Result(mutation, outcome, caught, time.monotonic() - begun))
            last = results[-1]
            print(f"{last.outcome:8} {mutation.id:36} {last.caught_by}", flush=True)
    table = report(results, source, started, time.monotonic() - clock)
    print()
    print(table)
    if args.report is not None:
        text = args.report.read_text() if args.report.exists() else ""
        begin, end = "<!-- mutation-results -->", "<!-- /mutation-results -->"
        block = f"{begin}\n{table}\n{end}"
        if begin in text and end in text:
            text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        args.report.write_text(text)
    return 1 if any(r.outcome != "killed" for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
