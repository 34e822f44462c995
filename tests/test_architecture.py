"""The house rules: each third-party package imported in one module, imports running one way."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aggregator"
OWNERS = {
    "httpx": "http_client",
    "h11": "http_backend",
    "httpcore": "nowhere",  # httpx's engine is replaced by http_backend: importing it costs 47 ms and 108 modules
    "selectolax": "dom",
    "feedparser": "sources.feed",
    "feedgen": "export",
    "typer": "cli",
    "sqlite_utils": "store",
    "nh3": "sanitize",
    "dateutil": "dates",
    "jinja2": "render",
    "charset_normalizer": "encoding",
    "markdown_it": "markdown",
    "mdit_py_plugins": "markdown",
    "rich": "progress",
    "tomlkit": "sourcefile",
}
# modules a layer must never import: the store never parses, a source never writes, nothing imports the CLI
FORBIDDEN = {
    "store": {"sources", "cli", "export", "digest", "render", "publish", "pipeline", "dom", "normalize"},
    "sources": {"store", "cli", "export", "digest", "render", "publish", "pipeline", "stories"},
    "normalize": {"store", "cli", "pipeline", "sources"},
    "export": {"cli", "pipeline", "sources", "http_client", "http_backend"},
    "digest": {"cli", "pipeline", "sources", "http_client"},
    "dedup": {"store", "cli", "pipeline", "sources", "http_client"},
    # the pool runs whatever it is given: it names the parsers to preload, and imports none of them
    "workers": {"store", "cli", "pipeline", "sources", "normalize", "http_client", "dom", "sanitize"},
}


def imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[module] = names
    return found


def test_each_third_party_package_has_one_home() -> None:
    for module, names in imports().items():
        for name in names:
            top = name.split(".")[0]
            if top in OWNERS:
                assert module == OWNERS[top], f"{module} imports {top}, which belongs to {OWNERS[top]}"


def test_imports_run_one_way() -> None:
    for module, names in imports().items():
        layer = module.split(".")[0]
        for name in names:
            if not name.startswith("aggregator."):
                continue
            target = name.removeprefix("aggregator.").split(".")[0]
            assert target not in FORBIDDEN.get(layer, set()), f"{module} must not import aggregator.{target}"
