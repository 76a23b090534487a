"""Compare the Provider's server CPU per code flow across checkouts, side by side in one run.

Each argument is a checkout's ``src`` directory (e.g. a ``git worktree`` of an older
commit): one ``stepauth serve`` per tree (``python -m stepauth.cli`` with that directory
on ``PYTHONPATH``), configured alike (``bench._servers.stepauth_config``). The same load
driver as ``bench/provider.py`` (``peers/bench-flows.mjs``) runs bearer code flows against
each, in alternating rounds (ABBA order), so load from elsewhere on the machine falls on
every tree alike. Reported per tree: server CPU ms per measured flow in each round, their
median and the total over all rounds.

``--profile DIR`` also samples each server with ``py-spy record --format raw`` over the
measured rounds (``DIR/<n>.txt``: collapsed stacks, e.g. for ``flamegraph.pl`` or a diff
of self time per function: ``python -m bench.compare_trees --top DIR/0.txt DIR/1.txt``).

    .venv/bin/python -m bench.compare_trees OLD_SRC NEW_SRC [--flows 500] [--rounds 6]
                                            [--concurrency 8] [--profile DIR]
"""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path, help="src directories to compare")
    parser.add_argument("--flows", type=int, default=500, help="measured flows per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", type=Path, metavar="DIR")
    parser.add_argument("--top", action="store_true", help="print self time of raw profiles")
    args = parser.parse_args(argv)
    if args.top:
        _print_top(args.trees)
        return 0
    password = secrets.token_urlsafe(16)
    client = Client()
    cpu: dict[int, list[float]] = {index: [] for index in range(len(args.trees))}
    with tempfile.TemporaryDirectory(prefix="stepauth-compare-") as tmp, ExitStack() as stack:
        servers = []
        for index, src in enumerate(args.trees):
            directory = Path(tmp) / str(index)
            directory.mkdir()
            servers.append(
                stack.enter_context(
                    stepauth_server(
                        directory,
                        client=client,
                        users=[(USERNAME, password)],
                        log_level="warning",
                        src=src.resolve(),
                    )
                )
            )
        order = list(enumerate(servers))
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
    print("| tree | CPU ms/flow per round | median | mean |")
    print("|---|---|---|---|")
    for index, src in enumerate(args.trees):
        rounds = cpu[index]
        print(
            f"| {src} | {' '.join(f'{v:.2f}' for v in rounds)} | "
            f"{statistics.median(rounds):.2f} | {statistics.fmean(rounds):.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
