"""Who is calling: API keys, roles, the role matrix and a per-key rate limit.

Keys are configured by their SHA-256 digest (``GRAPHSVC_API_KEYS``), never in
clear; ``graphsvc apikey`` makes a key and prints the entry to configure. Each
route names the roles it admits (:data:`ROLE_MATRIX`); any other caller gets 403.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from graphsvc.settings import Role

__all__ = ["ROLE_MATRIX", "Caller", "RateLimiter", "Role", "digest"]

U, I, C, A = Role.UNDERWRITER, Role.INVESTIGATOR, Role.COLLECTOR, Role.ADMIN  # noqa: E741 (the matrix's initials)
#: route name -> roles allowed; the tests walk every route under every role
ROLE_MATRIX: dict[str, frozenset[Role]] = {
    "score_application": frozenset({U, A}),
    "get_applicant": frozenset({U, I, C, A}),
    "get_network": frozenset({I, A}),
    "identifier_applicants": frozenset({I, A}),
    "get_paths": frozenset({I, A}),
    "explain_applicant": frozenset({U, I, A}),
    "list_rings": frozenset({I, A}),
    "get_ring": frozenset({I, A}),
    "get_ring_network": frozenset({I, A}),
    "whoami": frozenset({U, I, C, A}),
    "start_rescore": frozenset({A}),
    "get_job": frozenset({A}),
    "skiptrace": frozenset({C, A}),
    "reveal_number": frozenset({C, A}),
    "subject_access": frozenset({A}),
    "request_review": frozenset({U, I, A}),
    "list_reviews": frozenset({I, A}),
    "close_review": frozenset({I, A}),
}


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role


def digest(key: str) -> str:
    """The SHA-256 hex digest under which a key is configured."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh random API key and its digest."""
    key = "gs_" + secrets.token_urlsafe(32)
    return key, digest(key)


class RateLimiter:
    """Token bucket per caller: ``rate`` requests per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, caller: str) -> float:
        """0 when the request may go, else the seconds to wait before retrying."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[caller] = (tokens - 1, now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            return (1 - tokens) / self.rate
