"""Who may write: reading (questions, the article list) is open; adding, removing, restoring and
re-indexing need a token, unless the server is read-only, when nobody writes through it at all.
A server with no token configured, bound to loopback, is one person's: its writes are open and
recorded as "local" (``Tokens.local``); as soon as a token is configured, every write needs one.

    tokens = Tokens.parse("alice=s3cret-1,bob=s3cret-2")   # QA_API_TOKEN / qa serve --token
    tokens.name_of("Bearer s3cret-2")                     # "bob" (the audit log's "who"); None if no match

Every configured token is compared with the offered one in constant time (``hmac.compare_digest``,
all of them, whatever matches), so the answer's timing says nothing about a token's characters.
A server bound to an address other than loopback must have a token or be read-only (``for_host``):
anyone on the network could otherwise add to and remove from the corpus.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from dataclasses import dataclass

from qa.errors import AccessError

DEFAULT_NAME = "editor"  # the name of a token given without one
LOCAL = "local"  # who writes on a loopback-only server without tokens
MIN_SECRET_CHARS = 12
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True)
class Tokens:
    """The write tokens of a server, by name."""

    secrets: tuple[tuple[str, bytes], ...] = ()
    read_only: bool = False
    local: bool = False  # no tokens on a loopback-only server: writes are open, by "local"

    @classmethod
    def parse(cls, spec: str | list[str] | tuple[str, ...] | None, read_only: bool = False) -> Tokens:
        """Tokens from ``name=secret`` items (comma-separated, or a list); a bare secret is named "editor".
        ``AccessError`` for a malformed item, a short secret or a name given twice."""
        items = spec if isinstance(spec, (list, tuple)) else (spec or "").split(",")
        secrets: dict[str, bytes] = {}
        for item in (i.strip() for i in items):
            if not item:
                continue
            name, sep, secret = item.partition("=")
            if not sep:
                name, secret = DEFAULT_NAME, item
            name, secret = name.strip(), secret.strip()
            if not _NAME.match(name):
                raise AccessError(f"token name {name!r}: use letters, digits and _ . @ - (up to 64)")
            if len(secret) < MIN_SECRET_CHARS:
                raise AccessError(f"the token named {name!r} is too short: use at least {MIN_SECRET_CHARS} characters "
                                  "(`python -c 'import secrets; print(secrets.token_urlsafe())'` makes one)")
            if name in secrets:
                raise AccessError(f"two tokens are named {name!r}: give each a name of its own (name=secret)")
            secrets[name] = secret.encode()
        return cls(tuple(secrets.items()), read_only)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    @property
    def writes_need_token(self) -> bool:
        return not self.read_only and not (self.local and not self.secrets)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.secrets]

    def name_of(self, offered: str | None) -> str | None:
        """The name of the token ``offered`` ("Bearer <secret>" or the bare secret), or None."""
        if not offered:
            return None
        scheme, _, rest = offered.strip().partition(" ")
        secret = (rest if scheme.lower() == "bearer" else offered).strip().encode()
        found = None
        for name, known in self.secrets:  # every one compared: the time taken does not depend on which matched
            if hmac.compare_digest(secret, known) and found is None:
                found = name
        return found

    def writer(self, offered: str | None) -> str:
        """The name of the writer offering ``offered``; ``AccessError`` if it may not write."""
        if self.read_only:
            raise AccessError("this server is read-only: add and remove articles where the corpus is written")
        if not self.secrets:
            if self.local:
                return LOCAL
            raise AccessError("writing needs a token, and this server has none: start it with --token "
                              "(or QA_API_TOKEN)")
        name = self.name_of(offered)
        if name is None:
            raise AccessError("a valid token is needed to write: send the header 'Authorization: Bearer <token>'")
        return name


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` only lets this machine in ("127.0.0.1", "::1", "localhost")."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def for_host(host: str, spec: str | list[str] | tuple[str, ...] | None, read_only: bool = False) -> Tokens:
    """The tokens of a server bound to ``host``; ``AccessError`` when the host is reachable from other
    machines and there is neither a token nor ``read_only`` (anyone there could write)."""
    tokens = Tokens.parse(spec, read_only)
    loopback = is_loopback(host)
    if loopback or read_only or tokens:
        return Tokens(tokens.secrets, read_only, local=loopback)
    raise AccessError(f"refusing to serve on {host} without a token: anyone who reaches it could add and remove "
                      "articles. Start it with --token NAME=SECRET (or QA_API_TOKEN), or with --read-only")
