"""Compare the Provider's server CPU per code flow across checkouts, side by side in one run.

Each argument is a checkout's ``src`` directory (e.g. a ``git worktree`` of an older
commit): one ``stepauth serve`` per tree (``python -m stepauth.cli`` with that directory
on ``PYTHONPATH``), configured alike (``bench._servers.stepauth_config``). The same load
driver as ``bench/provider.py`` (``peers/bench-flows.mjs``) runs bearer code flows against
each, in alternating rounds (ABBA order), so load from elsewhere on the machine falls on
every tree alike. Reported per tree: server CPU ms per measured flow in each round, their
median and mean; for every tree after the first, its ratio to the first round by round
(the two rounds next to each other, so drift in the machine's speed cancels), the median
of those ratios and the ratio of the totals.

``--instructions`` counts instead the user-space instructions per flow, which other load
on the machine does not move: each server in turn under ``valgrind --tool=callgrind``
with instrumentation switched on only around the driver's runs (``callgrind_control``),
once for ``--flows`` + 1 flows and once for 1 (the driver's sign-in through the form is in
both), the difference divided by ``--flows``; one flow at a time. CPU time also counts
the kernel's share (socket writes, SQLite's file writes) and the processor's cache misses;
the two answer different questions, and a change shows in both or it is noise.

``--profile DIR`` also samples each server with ``py-spy record --format raw`` over the
measured rounds (``DIR/<n>.txt``: collapsed stacks, e.g. for ``flamegraph.pl`` or a diff
of self time per function: ``python -m bench.compare_trees --top DIR/0.txt DIR/1.txt``).

    .venv/bin/python -m bench.compare_trees OLD_SRC NEW_SRC [--flows 500] [--rounds 6]
                                            [--concurrency 8] [--profile DIR]
    .venv/bin/python -m bench.compare_trees --instructions OLD_SRC NEW_SRC [--flows 200]
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench._servers import Client, Server, stepauth_server
from bench.provider import USERNAME, WARMUP, drive

CLOCK_TICKS = 100  # SC_CLK_TCK on Linux


@contextmanager
def _sampled(server: Server, out: Path) -> Iterator[None]:
    """``py-spy record`` on ``server`` until the block ends (raw collapsed stacks)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    argv = [py_spy, "record", "--pid", str(server.pid), "--format", "raw", "-o", str(out)]
    # --gil: only samples holding the GIL (CPU spent in Python), not waits on the machine
    process = subprocess.Popen([*argv, "--rate", "200", "--gil"], stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def self_time(path: Path, *, top: int = 40) -> list[tuple[str, float]]:
    """The functions with the most self samples in a raw py-spy profile, as fractions."""
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack:
            counts[stack.split(";")[-1]] += int(samples)
    total = sum(counts.values()) or 1
    return [(name, n / total) for name, n in counts.most_common(top)]


def _print_top(paths: Sequence[Path]) -> None:
    for path in paths:
        print(f"## {path}")
        for name, share in self_time(path):
            print(f"{share * 100:6.2f}%  {name}")


def _serve(
    stack: ExitStack,
    tmp: str,
    index: int,
    src: Path,
    password: str,
    client: Client,
    wrap: Sequence[str] = (),
) -> Server:
    directory = Path(tmp) / str(index)
    directory.mkdir()
    return stack.enter_context(
        stepauth_server(
            directory,
            client=client,
            users=[(USERNAME, password)],
            log_level="warning",
            src=src.resolve(),
            wrap=wrap,
        )
    )


def _cpu(args: argparse.Namespace) -> dict[int, list[float]]:
    """Server CPU ms per flow, per tree and round (ABBA)."""
    password = secrets.token_urlsafe(16)
    client = Client()
    cpu: dict[int, list[float]] = {index: [] for index in range(len(args.trees))}
    with tempfile.TemporaryDirectory(prefix="stepauth-compare-") as tmp, ExitStack() as stack:
        order = [
            (index, _serve(stack, tmp, index, src, password, client))
            for index, src in enumerate(args.trees)
        ]
        for _, server in order:  # sign-in and warm-up, outside the profile
            drive(server, client, password, flows=1, concurrency=1, warmup=WARMUP)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for index, server in order:
                stack.enter_context(_sampled(server, args.profile / f"{index}.txt"))
        for round_ in range(args.rounds):
            for index, server in order if round_ % 2 == 0 else order[::-1]:
                result = drive(
                    server,
                    client,
                    password,
                    flows=args.flows,
                    concurrency=args.concurrency,
                    warmup=0,
                )
                ms = result["server_cpu_ticks"] / CLOCK_TICKS * 1000 / result["flows"]
                cpu[index].append(ms)
                print(f"round {round_ + 1} {args.trees[index]}: {ms:.2f} ms/flow", file=sys.stderr)
    return cpu


def _print_cpu(trees: Sequence[Path], cpu: dict[int, list[float]]) -> None:
    print("| tree | CPU ms/flow per round | median | mean | ÷ first, per round | median | totals |")
    print("|---|---|---|---|---|---|---|")
    first = cpu[0]
    for index, src in enumerate(trees):
        rounds = cpu[index]
        ratios = [new / old for new, old in zip(rounds, first, strict=True)]
        paired = (
            f"{' '.join(f'{r:.3f}' for r in ratios)} | {statistics.median(ratios):.3f} | "
            f"{sum(rounds) / sum(first):.3f}"
            if index
            else "| |"
        )
        print(
            f"| {src} | {' '.join(f'{v:.2f}' for v in rounds)} | "
            f"{statistics.median(rounds):.2f} | {statistics.fmean(rounds):.2f} | {paired} |"
        )


def _callgrind(server: Server, *commands: str) -> None:
    for command in commands:
        subprocess.run(
            ["callgrind_control", command, str(server.pid)],
            check=True,
            capture_output=True,
            timeout=120,
        )


def _counted(server: Server, out: Path, client: Client, password: str, flows: int) -> int:
    """Instructions of ``server`` while the driver runs ``flows`` flows (a dump of its own)."""
    before = set(out.parent.glob(f"{out.name}.{server.pid}.*"))
    _callgrind(server, "-z", "--instr=on")
    drive(server, client, password, flows=flows, concurrency=1, warmup=0)
    _callgrind(server, "--instr=off", "-d")
    (dump,) = set(out.parent.glob(f"{out.name}.{server.pid}.*")) - before
    totals = re.search(r"^totals: (\d+)", dump.read_text(), re.MULTILINE)
    if totals is None:
        raise RuntimeError(f"no totals in {dump}")
    return int(totals.group(1))


def _instructions(args: argparse.Namespace) -> list[float]:
    """User-space instructions per flow of each tree, one server at a time."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    password = secrets.token_urlsafe(16)
    client = Client()
    per_flow = []
    with tempfile.TemporaryDirectory(prefix="stepauth-compare-") as tmp:
        for index, src in enumerate(args.trees):
            out = Path(tmp) / f"callgrind.{index}"
            wrap = [
                valgrind,
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}.%p",
            ]
            with ExitStack() as stack:
                server = _serve(stack, tmp, index, src, password, client, wrap)
                drive(server, client, password, flows=1, concurrency=1, warmup=WARMUP)
                counts = [
                    _counted(server, out, client, password, flows) for flows in (args.flows + 1, 1)
                ]
            per_flow.append((counts[0] - counts[1]) / args.flows)
            print(f"{src}: {per_flow[-1]:,.0f} instructions/flow", file=sys.stderr)
    return per_flow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path, help="src directories to compare")
    parser.add_argument("--flows", type=int, default=500, help="measured flows per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", type=Path, metavar="DIR")
    parser.add_argument("--top", action="store_true", help="print self time of raw profiles")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (callgrind)"
    )
    args = parser.parse_args(argv)
    if args.top:
        _print_top(args.trees)
    elif args.instructions:
        counts = _instructions(args)
        print("| tree | instructions per flow | ÷ first |")
        print("|---|---|---|")
        for src, count in zip(args.trees, counts, strict=True):
            print(f"| {src} | {count:,.0f} | {count / counts[0]:.4f} |")
    else:
        _print_cpu(args.trees, _cpu(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
