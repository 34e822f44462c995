"""Source fetchers, picked by kind.

Each kind maps to `module:function`, imported only when a source of that kind runs, so start-up
stays fast and a kind whose module is absent is reported as unsupported instead of failing the run.
"""

from __future__ import annotations

import importlib
import re
from typing import cast

from aggregator.sources.base import Fetcher, SourceContext

__all__ = ["PROFILE_PATH", "SourceContext", "fetcher_for", "is_hackmd_url"]

_FETCHERS: dict[str, str] = {
    "auto": "aggregator.sources.auto:fetch",
    "feed": "aggregator.sources.feed:fetch",
    "hackmd": "aggregator.sources.hackmd:fetch",
    "hexo": "aggregator.sources.site:fetch_hexo",
    "hugo": "aggregator.sources.site:fetch_hugo",
    "html": "aggregator.sources.site:fetch_html",
}
_HACKMD = re.compile(r"^https?://(www\.)?hackmd\.io/@[^/?#]+/?$", re.IGNORECASE)
PROFILE_PATH = re.compile(r"^/@([^/]+)/?$")  # a HackMD user or team profile, on hackmd.io or a mirror


def fetcher_for(kind: str) -> Fetcher | None:
    """The fetch function for a kind, or None when this build has no fetcher for it."""
    target = _FETCHERS.get(kind)
    if target is None:
        return None
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            return None
        raise
    return cast(Fetcher | None, getattr(module, function, None))


def is_hackmd_url(url: str) -> bool:
    """True for a HackMD profile URL (`https://hackmd.io/@user` or a team path)."""
    return bool(_HACKMD.match(url.strip()))
