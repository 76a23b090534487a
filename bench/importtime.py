"""Time ``import stepauth.sdk`` in a virtualenv that holds only the base install.

Run: ``.venv/bin/python -m bench.importtime`` — prints a markdown section and writes it to
``bench/results/importtime.md``. The checkout is built into a wheel once (``pip wheel
--no-deps``), installed without extras into a fresh ``python -m venv`` in a temporary
folder (pip resolves httpx and cryptography from the machine's configured index), and
``python -X importtime -c "import stepauth.sdk"`` runs :data:`RUNS` times in new
processes. The figure is the ``cumulative`` time CPython reports for ``stepauth.sdk``
(everything it imports, first import in a fresh interpreter); the best run is the one least
disturbed by the other processes sharing the CPUs, the median shows the spread. The same
import in the development install (every extra present) is measured alongside: the SDK must
not get slower because the Provider's packages are installed next to it.

:mod:`tests.packaging` uses the same helpers (:func:`build_wheel`, :func:`make_venv`,
:func:`import_profile`) to check what the base install imports.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "importtime.md"
RUNS = 15
#: Packages of the Provider and the framework adapters: the SDK's import must load none.
HEAVY = ("sqlalchemy", "redis", "uvicorn", "starlette", "fastapi", "alembic", "stepauth.provider")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would put the checkout's sources on a venv's path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


def build_wheel(dest: Path) -> Path:
    """The checkout as one wheel (no dependencies: pip resolves them when installing)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dest), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = dest.glob("stepauth-*.whl")
    return wheel


def make_venv(path: Path, *requirements: str) -> Path:
    """A fresh venv at ``path`` with ``requirements`` installed; returns its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", str(path)], check=True, capture_output=True, text=True
    )
    python = path / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *requirements],
        check=True,
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    return python


@dataclass(frozen=True)
class ImportProfile:
    """One ``-X importtime`` run of ``import <module>``."""

    #: Cumulative microseconds of the module's import (itself and all it imported).
    cumulative_us: int
    #: Every module imported, by name.
    modules: frozenset[str]
    #: The slowest imports by self time: (module, self µs).
    slowest: tuple[tuple[str, int], ...]

    def loaded(self, package: str) -> bool:
        return any(m == package or m.startswith(package + ".") for m in self.modules)


def import_profile(
    python: Path | str, module: str = "stepauth.sdk", env: dict[str, str] | None = None
) -> ImportProfile:
    """``python -X importtime -c "import <module>"`` in a new process, parsed."""
    proc = subprocess.run(
        [str(python), "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env() if env is None else env,
        cwd=tempfile.gettempdir(),  # never the checkout: the venv's install is measured
    )
    rows: list[tuple[str, int, int]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, cumulative, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if own.isdigit():
            rows.append((name, int(own), int(cumulative)))
    total = next(c for name, _, c in rows if name == module)
    slowest = tuple((n, own) for n, own, _ in sorted(rows, key=lambda r: -r[1])[:5])
    return ImportProfile(total, frozenset(n for n, _, _ in rows), slowest)


def _measure(python: Path | str, env: dict[str, str] | None = None) -> list[ImportProfile]:
    return [import_profile(python, env=env) for _ in range(RUNS)]


def _ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


def _row(label: str, runs: list[ImportProfile]) -> str:
    times = [r.cumulative_us for r in runs]
    heavy = [h for h in HEAVY if runs[0].loaded(h)]
    return (
        f"| {label} | {_ms(min(times))} | {_ms(statistics.median(times))} | "
        f"{len(runs[0].modules)} | {', '.join(heavy) or 'none'} |"
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="stepauth-importtime-") as tmp:
        wheel = build_wheel(Path(tmp) / "wheel")
        base = make_venv(Path(tmp) / "base", str(wheel))
        base_runs = _measure(base)
    dev_env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    dev_runs = _measure(sys.executable, env=dev_env)
    slowest = ", ".join(f"`{n}` {_ms(us)}" for n, us in base_runs[0].slowest)
    section = f"""## SDK import time (`import stepauth.sdk`, base install)

Command: `.venv/bin/python -m bench.importtime` — the checkout built into a wheel, installed
without extras (`pip install stepauth`: httpx and cryptography) into a fresh venv;
`python -X importtime -c "import stepauth.sdk"` in {RUNS} new processes each, cumulative
time of `stepauth.sdk` as CPython reports it.

Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, \
Python {platform.python_version()}; load average at the end of the run \
{os.getloadavg()[0]:.1f} (other processes share the CPUs).

| install | best | median | modules imported | Provider/framework packages loaded |
|---|---|---|---|---|
{_row("base (`pip install stepauth`)", base_runs)}
{_row("development (`.[dev]`, every extra installed)", dev_runs)}

Slowest imports of the base install by self time (one run): {slowest}. The development
install imports more because httpx loads its command-line client (click, rich, pygments)
when those are installed; none of the Provider's or the frameworks' packages.
`tests/packaging` checks on every `make test` that the base install imports none of
{", ".join(f"`{h}`" for h in HEAVY)}; the time itself is reported here, not asserted.
"""
    print(section)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
