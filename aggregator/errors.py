"""The one error tree of agg.

    AggError
     ├── ConfigError          feeds.toml or a command-line value is wrong (exit code 2)
     ├── LockedError          another agg run holds the database (exit code 3)
     └── SourceError          one source failed; the run goes on with the others
          ├── FetchError      the network or the server said no (timeout, 404, too large, ...)
          └── ParseError      the bytes were not what the source kind expects
               └── WorkerCrashed  the process parsing them died

`str(error)` is one line a user can act on: it names the source or URL and the cause.
"""

from __future__ import annotations


class AggError(Exception):
    """Root of every error agg raises on purpose."""


class ConfigError(AggError):
    """The configuration cannot be used; nothing was fetched or written."""


class LockedError(AggError):
    """Another agg process is writing to the same database."""


class SourceError(AggError):
    """A source could not be fetched or understood."""


class FetchError(SourceError):
    """An HTTP request failed; `url` is the address that failed."""

    def __init__(
        self,
        url: str,
        cause: str,
        *,
        retry_after: float | None = None,
        retryable: bool = False,
        status: int | None = None,
    ) -> None:
        self.url = url
        self.cause = cause
        self.status = status  # the HTTP status when the server answered with an error
        self.retry_after = retry_after
        self.retryable = retryable  # a timeout, a dropped connection, 5xx or 429: worth another try
        super().__init__(f"{cause}: {url}")


class ParseError(SourceError):
    """A response could not be parsed as the kind of document expected."""


class WorkersDying(ParseError):
    """Not parsed: worker processes die as soon as they start, whatever they are given (a memory limit
    below what a worker needs, a broken native library), so nothing is parsed for the rest of the run."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not parsed: {reason}")


class WorkerCrashed(ParseError):
    """The worker process parsing a source's content died, alone with it: a native parser crashed on
    those bytes, or the system killed the process (out of memory)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "the worker process parsing this source's content died (a parser crashed on it, "
            "or the system killed the process)" + (f"; {detail}" if detail else "") + "; the other sources went on"
        )
