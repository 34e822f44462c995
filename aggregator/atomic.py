"""Files replaced whole: written beside their target and renamed over it, so no reader sees half a file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def replacing(path: Path, *, durable: bool = False) -> Iterator[BinaryIO]:
    """A file that replaces `path` when the block ends without an error, and is gone if it fails.

    `durable`: its bytes are on disk before the rename, so a crash never leaves a published name on an
    empty file; it costs a wait for the disk, worth it for what others read (the published site).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_whole(path: Path, text: str, *, durable: bool = False) -> Path:
    """Replace `path` with `text` as UTF-8 (see `replacing`); return `path`."""
    with replacing(path, durable=durable) as handle:
        handle.write(text.encode())
    return path
