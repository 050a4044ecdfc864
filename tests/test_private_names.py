"""No module reaches into another module's or library's private names (issue 15): `from x import _y`,
`import x._internal`, `module._y` and `obj._y` on anything but `self`/`cls` are refused everywhere except in the
two adapters that wrap BentoML's and prometheus_client's internals (each with its own test that fails when the
pinned library changes) and those adapters' tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from service.core.paths import REPO

PACKAGES = ("service", "training", "loadtests", "scripts", "tests")
ADAPTERS = {
    "service/api/bentoml_adapter.py",
    "service/api/prometheus_adapter.py",
    "tests/service/api/test_bentoml_adapter.py",
    "tests/service/api/test_prometheus_adapter.py",
}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str) -> list[str]:
    """Each use of a private name in `source`, as 'line: code'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names = [*(node.module or "").split("."), *(a.name for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [part for a in node.names for part in a.name.split(".")]
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            names = [] if owner in ("self", "cls") else [node.attr]
        else:
            continue
        if any(_private(n) for n in names):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py") if ".venv" not in p.parts)


def test_the_scanner_finds_each_kind_of_private_use():
    code = (
        "import torch\nfrom a import _b\nfrom bentoml._internal import x\nimport pkg._impl\n"
        "y = torch._C\nz = obj._buffers\nok = self._own\nfine = obj.__class__\n"
    )
    assert [u.split(":")[0] for u in private_uses(code)] == ["2", "3", "4", "5", "6"]


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_private_names_outside_the_adapters(path: Path):
    rel = str(path.relative_to(REPO))
    uses = private_uses(path.read_text())
    if rel in ADAPTERS:
        return
    assert not uses, f"{rel} uses private names (move them behind an adapter): {uses}"


def test_the_adapters_still_hold_the_private_uses():
    """If an adapter no longer needs a private name, it should be dropped from ADAPTERS."""
    for rel in ADAPTERS:
        assert private_uses((REPO / rel).read_text()), rel
