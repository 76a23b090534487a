"""canonical_json against ECMAScript itself (Node.js), the reference RFC 8785 is defined by."""

from __future__ import annotations

import json
import random
import shutil
import struct
from pathlib import Path
from typing import Any

from stepauth.rar import canonical_json
from tests.conftest import require, run_node

PEER = Path(__file__).with_name("jcs_peer.mjs")


def _random_doubles(rng: random.Random, count: int) -> list[float]:
    values = []
    while len(values) < count:
        (value,) = struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))
        if value == value and abs(value) != float("inf"):
            values.append(value)
    return values


def test_numbers_and_documents_match_ecmascript(tmp_path: Path) -> None:
    require(shutil.which("node") is not None, "Node.js (node)")
    rng = random.Random(8785)
    numbers = [
        *_random_doubles(rng, 3000),
        *(rng.uniform(-1e6, 1e6) for _ in range(500)),
        *(round(rng.uniform(0, 10000), 2) for _ in range(500)),
        0.0, -0.0, 5e-324, 1e21, 1e-7, 1e-6, 123456789012345680000.0,
    ]  # fmt: skip
    documents: list[Any] = [
        {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6, "\u00f6": 7},
        {"b": [1, {"z": None, "a": 'é\u2028\u0007"\\/'}], "a": True, "A": False, "": "empty"},
        [
            {
                "type": "payment_initiation",
                "instructedAmount": {"currency": "EUR", "amount": "1250.00"},
                "creditorName": "Zoë \U0001f3e6 Bank",
                "creditorAccount": {"iban": "DE02100100109307118603"},
            }
        ],
    ]
    source = tmp_path / "input.json"
    source.write_text(
        json.dumps(
            {"numbers": [struct.pack(">d", n).hex() for n in numbers], "documents": documents}
        ),
        encoding="utf-8",
    )
    reference = json.loads(run_node(PEER, str(source)))
    assert [canonical_json(n).decode() for n in numbers] == reference["numbers"]
    assert [canonical_json(d).decode() for d in documents] == reference["documents"]
