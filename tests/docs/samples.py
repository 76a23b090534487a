"""Run the ```python blocks of one Markdown file, in order, in one namespace.

    python -m tests.docs.samples docs/quickstart-fastapi.md

Only blocks fenced as ```python run; ```sh, ```console, ```toml and ```text blocks are
shown to the reader and never run, so everything a reader is asked to run in Python is
tested. The test (:mod:`tests.docs.test_samples`) starts one process per file in a scratch
folder holding a copy of ``examples/``: a file's samples share nothing with another file's
(environment variables, Django settings, event loops, imported state).
"""

from __future__ import annotations

import re
import sys
import traceback
from pathlib import Path

__all__ = ["BLOCK", "run", "samples"]

BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def samples(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


def run(path: Path) -> int:
    namespace: dict[str, object] = {"__name__": f"docs_sample_{path.stem.replace('-', '_')}"}
    for index, source in enumerate(samples(path)):
        try:
            code = compile(source, f"{path.name}[block {index}]", "exec")
            exec(code, namespace)  # the docs are ours; running them is the test
        except BaseException:  # report which block failed, whatever it raised
            print(f"{path.name}: python block {index} failed:", file=sys.stderr)
            traceback.print_exc()
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
