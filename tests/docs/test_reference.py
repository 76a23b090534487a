"""The reference pages cannot drift from the code they describe.

* ``docs/configuration.md`` names every key the config loader accepts (read from the
  schema's msgspec Structs, and the ladder's key sets for ``[levels]``), and its
  complete example file loads;
* ``docs/cli.md`` has a section for every sub-command the CLI parser knows and names every
  option of each;
* ``docs/security.md`` names only test files that exist, and every threat names a test.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from msgspec import inspect as mi

from stepauth.assurance import levels as ladder
from stepauth.cli import build_parser
from stepauth.provider.config import ProviderConfig
from stepauth.provider.config.schema import ConfigFile

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# -- configuration -------------------------------------------------------------------------


def _keys(node: mi.Type, prefix: str) -> Iterator[str]:
    """The dotted keys of one schema table; a list of tables is ``name[]``."""
    if isinstance(node, mi.UnionType):  # an optional table: what it holds
        (node,) = (t for t in node.types if not isinstance(t, mi.NoneType))
    assert isinstance(node, mi.StructType), node
    for field in node.fields:
        key = f"{prefix}{field.encode_name}"
        yield key
        inner = field.type
        if isinstance(inner, mi.UnionType):
            inner = next(t for t in inner.types if not isinstance(t, mi.NoneType))
        if isinstance(inner, mi.StructType):
            yield from _keys(inner, f"{key}.")
        elif isinstance(inner, mi.VarTupleType) and isinstance(inner.item_type, mi.StructType):
            yield from _keys(inner.item_type, f"{key}[].")


def accepted_config_keys() -> set[str]:
    """Every key ``load_config`` accepts, dotted: ``issuer``, ``server.host``, …

    Read from the schema the file is decoded against (msgspec Structs that forbid unknown
    keys), so a key added there and not here fails this test."""
    keys = set(_keys(mi.type_info(ConfigFile), ""))
    assert "clients[].client_id" in keys, "the loader changed shape"
    assert "server.port" in keys, "the loader changed shape"
    # [levels] is handed to stepauth.assurance.ladder_from_data: its keys count too.
    keys |= {"levels.base", "levels.levels"}
    keys |= {f"levels.levels[].{k}" for k in ladder._LEVEL_KEYS}
    keys |= {f"rule.{k}" for k in ladder._RULE_KEYS | ladder._CLAUSE_KEYS}
    return keys


def test_every_config_key_is_documented() -> None:
    page = _read("configuration.md")
    top_level = {k for k in accepted_config_keys() if "." not in k}
    missing = [
        key
        for key in sorted(accepted_config_keys())
        if f"`{key}`" not in page
        and not (key in top_level and (f"`[{key}]`" in page or f"`[[{key}]]`" in page))
    ]
    assert not missing, f"docs/configuration.md does not describe {missing}"


def test_the_complete_example_file_loads() -> None:
    import tomllib

    example = re.search(r"^```toml\n(.*?)^```", _read("configuration.md"), re.M | re.S)
    assert example is not None
    config = ProviderConfig.from_dict(tomllib.loads(example.group(1)), base_dir=ROOT)
    assert config.redis is not None
    assert config.levels is not None
    assert config.clients


# -- CLI -------------------------------------------------------------------------------------


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _commands(sub, (*prefix, name))


COMMANDS = list(_commands(build_parser()))


def test_the_cli_has_commands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"serve", "users add", "audit verify-transaction"} <= names


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_cli_command_is_documented(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    page = _read("cli.md")
    command = "stepauth " + " ".join(path)
    if parser.get_default("func") is None:  # a group such as `stepauth users`: named
        assert f"`{command}" in page, f"docs/cli.md does not name {command}"
    else:  # a command that runs: a section of its own
        heading = re.search(rf"^#+ .*`{re.escape(command)}`", page, re.M)
        assert heading, f"docs/cli.md has no section for {command}"
    for action in parser._actions:
        for option in action.option_strings:
            if option not in ("-h", "--help"):
                assert option in page, f"docs/cli.md does not name {command} {option}"


# -- security --------------------------------------------------------------------------------

TEST_PATH = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def test_every_test_named_in_security_md_exists() -> None:
    page = _read("security.md")
    named = TEST_PATH.findall(page)
    assert len(named) >= 20
    for path, test in named:
        file = ROOT / path
        assert file.is_file(), f"docs/security.md names {path}, which does not exist"
        if test:
            assert re.search(rf"^(async )?def {test}\(", file.read_text(encoding="utf-8"), re.M), (
                f"docs/security.md names {path}::{test}, which does not exist"
            )


def test_every_threat_in_security_md_names_a_test() -> None:
    rows = [
        line
        for line in _read("security.md").splitlines()
        if line.startswith("| ") and not line.startswith(("| threat", "|---"))
    ]
    assert rows, "security.md has no threat table"
    for row in rows:
        assert TEST_PATH.search(row), f"no test named for: {row[:80]}"


# -- links -------------------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
PAGES = sorted(DOCS.glob("*.md"))


def test_every_page_is_linked_from_the_readme_and_from_concepts() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    concepts = _read("concepts.md")
    for page in PAGES:
        assert f"(docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"
        if page.name != "concepts.md":
            assert f"({page.name})" in concepts, f"docs/concepts.md does not link {page.name}"


@pytest.mark.parametrize("page", [ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name} links {target}, which is missing"
