"""One verdict per call: who it is (401), whether its key holds the method's scope (403),
and whether the key is within its rate (429). The service's interceptor and the
gateway's credential check (authz.py) both ask here, so they cannot disagree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.common.errors import ParleyError, PermissionDenied, RateLimited, Unauthenticated
from services.common.keys import KeyStore, Principal, presented
from services.common.ratelimit import RateLimiter

# A method no table names needs the broadest scope: a new RPC is closed until it is named.
FALLBACK_SCOPE = "admin"
# A method that needs a valid key and no scope (a key asking what it may do).
ANY_KEY = ""


@dataclass(frozen=True)
class Verdict:
    principal: Principal | None
    client: str = ""
    refusal: ParleyError | None = None


class Guard:
    def __init__(self, keys: KeyStore, scopes: Mapping[str, str], limiter: RateLimiter,
                 forms: frozenset[str]) -> None:
        self._keys = keys
        self._forms = forms
        self._scopes = scopes
        self._limiter = limiter

    def scope(self, method: str) -> str:
        return self._scopes.get(method, FALLBACK_SCOPE)

    async def judge(self, method: str, metadata: Mapping[str, str], count: bool = True) -> Verdict:
        """`count`: whether this call takes from the key's rate (the gateway's check looks
        ahead without taking, since the service counts the same call when it arrives)."""
        credential = presented(metadata, self._forms)
        try:
            principal = await self._keys.principal(credential.key) if credential else None
        except ParleyError as exc:  # the key store is away: 503, not "Unauthorized"
            return Verdict(None, refusal=exc)
        if principal is None:
            return Verdict(None, refusal=Unauthenticated())
        client = credential.client if credential else ""
        needed = self.scope(method)
        if needed != ANY_KEY and needed not in principal.scopes:
            return Verdict(principal, client, PermissionDenied(f"This key lacks the scope {needed}"))
        wait = self._limiter.wait_seconds(principal.name, take=count)
        if wait:
            return Verdict(principal, client, RateLimited(
                f"Rate limit of key '{principal.name}' exceeded; retry after {wait} s", wait))
        return Verdict(principal, client)
