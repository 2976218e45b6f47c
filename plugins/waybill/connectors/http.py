"""One HTTP client for every partner API: a requests session with timeouts, rate limiting and retries.

Retries cover what partners do when busy or flaky: 429 (honouring ``Retry-After``), 500/502/503/504,
connection errors and read timeouts, with capped exponential backoff and jitter. Anything else
(a 4xx that is not 429) is the caller's to handle: it is not retried blindly.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class SourceUnavailable(RuntimeError):
    """A partner kept failing after every retry; the message names the source, URL and last error."""


@dataclass
class RateLimiter:
    """Spaces calls so that at most ``per_second`` start in any second (thread-safe)."""

    per_second: float
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _next_at: float = 0.0

    def wait(self) -> None:
        """Block until the next call may start."""
        if self.per_second <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_at)
            self._next_at = start + 1.0 / self.per_second
        if start > now:
            time.sleep(start - now)


@dataclass
class HttpClient:
    """A session bound to one source: base URL, auth headers, timeout, rate limit and retry policy."""

    source: str
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0
    max_attempts: int = 6
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    rate_limiter: RateLimiter | None = None
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers.update({"Accept": "application/json", **self.headers})

    def __repr__(self) -> str:  # header values (bearer tokens, API keys) never shown
        headers = dict.fromkeys(self.headers, "***")
        return (
            f"HttpClient(source={self.source!r}, base_url={self.base_url!r}, headers={headers!r},"
            f" timeout_s={self.timeout_s!r}, max_attempts={self.max_attempts!r})"
        )

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request, retrying transient failures; return the final response (any status but a retryable one).

        Raises :class:`SourceUnavailable` when every attempt failed transiently.
        """
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        kwargs.setdefault("timeout", self.timeout_s)
        last_error = ""
        for attempt in range(1, self.max_attempts + 1):
            if self.rate_limiter:
                self.rate_limiter.wait()
            try:
                response = self.session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                delay = self._backoff(attempt)
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                last_error = f"HTTP {response.status_code}: {response.text[:200]}"
                delay = retry_after_seconds(response) or self._backoff(attempt)
            if attempt == self.max_attempts:
                break
            log.warning(
                "%s: %s %s failed (%s); retry %d/%d in %.1fs",
                self.source,
                method,
                url,
                last_error,
                attempt,
                self.max_attempts - 1,
                delay,
            )
            time.sleep(min(delay, self.max_backoff_s))
        raise SourceUnavailable(
            f"{self.source}: {method} {url} failed after {self.max_attempts} attempts: {last_error}"
        )

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET ``path`` and decode JSON; a non-2xx status raises ``requests.HTTPError`` naming the source."""
        response = self.request("GET", path, **kwargs)
        if not response.ok:
            raise requests.HTTPError(
                f"{self.source}: GET {response.url} returned {response.status_code}: "
                f"{response.text[:300]}",
                response=response,
            )
        return response.json()

    def _backoff(self, attempt: int) -> float:
        base = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)


def retry_after_seconds(response: requests.Response) -> float | None:
    """Parse ``Retry-After`` (delta-seconds or an HTTP date) into seconds, or None if absent/invalid."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
