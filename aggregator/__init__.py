"""agg: a feed aggregator and scraper for ML study blogs."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
