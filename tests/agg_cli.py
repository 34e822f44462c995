"""Running the real `agg` CLI from tests: one clean environment, time pinned by $AGG_NOW."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

NOW = "2026-11-21T12:00:00Z"
AGG = [sys.executable, "-m", "aggregator"]


def agg_env(extra: dict[str, str] | None = None, *, now: str = NOW) -> dict[str, str]:
    """This process's environment without agg's own variables, with the time pinned."""
    base = {k: v for k, v in os.environ.items() if k not in ("AGG_DB", "AGG_CONFIG")}
    return {**base, "AGG_NOW": now, **(extra or {})}


def run_agg(
    *args: str, cwd: Path, env: dict[str, str] | None = None, now: str = NOW, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `agg ARGS` in `cwd` to the end and capture its output."""
    return subprocess.run(
        [*AGG, *args], cwd=cwd, env=agg_env(env, now=now), capture_output=True, text=True, check=False,
        timeout=timeout,
    )  # fmt: skip


def start_agg(*args: str, cwd: Path, **popen: Any) -> subprocess.Popen[Any]:
    """Start `agg ARGS` in `cwd` without waiting (pipes for stdout/stderr unless given)."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([*AGG, *args], cwd=cwd, env=agg_env(), **popen)


def write_feeds_toml(
    folder: Path, sources: Mapping[str, str], settings: Mapping[str, object], kind: str | None = "feed"
) -> Path:
    """Write `folder/feeds.toml`: [settings] (JSON scalars are TOML scalars) and one [[source]] per name -> URL."""
    body = "[settings]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
    for name, url in sources.items():
        body += f'\n[[source]]\nname = "{name}"\nurl = "{url}"\n' + (f'kind = "{kind}"\n' if kind else "")
    config = folder / "feeds.toml"
    config.write_text(body, encoding="utf-8")
    return config
