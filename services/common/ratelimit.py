"""Token buckets per key name: a steady rate with bursts, in this process."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """`rate` requests per second per name, bursts up to `burst`; rate 0 means unlimited."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = max(1, burst)
        self._buckets: dict[str, _Bucket] = {}

    def wait_seconds(self, name: str, take: bool = True) -> int:
        """0 if a request by `name` may go now (taking a token unless `take` is False: a
        look ahead, for the gateway's check of a call the service will count), else whole
        seconds to wait."""
        if self._rate <= 0:
            return 0
        now = time.monotonic()
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket(float(self._burst), now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.stamp) * self._rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1 if take else 0
            return 0
        return max(1, math.ceil((1 - bucket.tokens) / self._rate))
