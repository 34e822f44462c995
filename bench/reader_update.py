"""Run lemon24/reader on the benchmark feeds; runs in the interpreter that has `reader` (not agg's).

    python bench/reader_update.py --db DB --urls URLS.txt [--workers 16] [--warm]

Adds every URL, then times `update_feeds(workers=W)` (cold: empty database). With --warm, times a
second `update_feeds(workers=W, scheduled=False)` (every feed answers 304). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from reader import make_reader


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--urls", required=True)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--warm", action="store_true")
    args = parser.parse_args()
    urls = [line.strip() for line in Path(args.urls).read_text().splitlines() if line.strip()]

    reader = make_reader(args.db)
    started = time.perf_counter()
    for url in urls:
        reader.add_feed(url)
    add_seconds = time.perf_counter() - started

    started = time.perf_counter()
    reader.update_feeds(workers=args.workers)
    cold_seconds = time.perf_counter() - started
    result: dict[str, object] = {
        "reader_version": __import__("reader").__version__,
        "feeds": len(urls),
        "add_feed_seconds": round(add_seconds, 3),
        "cold_seconds": round(cold_seconds, 3),
        "entries": reader.get_entry_counts().total,
        "feeds_with_errors": sum(1 for feed in reader.get_feeds() if feed.last_exception is not None),
    }
    if args.warm:
        started = time.perf_counter()
        reader.update_feeds(workers=args.workers, scheduled=False)
        result["warm_seconds"] = round(time.perf_counter() - started, 3)
    reader.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
