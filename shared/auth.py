"""Bearer tokens with roles: ``state``, ``cdc``, ``region:<code>``, ``department:<code>``,
``city:<id>``, ``pole:<id>``, ``correspondent:<pole id>`` (the State's correspondent of a pôle),
``agency:<anr|oseo>`` (an agency's own system), ``operator``,
``integrator``. Tokens are HS256 JWTs signed with the platform's secret (``POLES_AUTH_SECRET``).

``python -m shared.auth mint --role state --subject dge`` prints a token for local use.
"""

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, status

ALGORITHM = "HS256"
FIXED_ROLES = frozenset({"state", "cdc", "operator", "integrator"})
SCOPED_ROLE = re.compile(
    r"^(region|department|city|pole|correspondent|agency):[A-Za-z0-9_.\-]{1,64}$"
)


def valid_role(role: str) -> bool:
    return role in FIXED_ROLES or SCOPED_ROLE.match(role) is not None


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]

    def has(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def scoped(self, kind: str) -> frozenset[str]:
        """The ids this principal acts for, e.g. ``scoped("pole")`` -> the pôles it speaks for."""
        prefix = f"{kind}:"
        return frozenset(r[len(prefix) :] for r in self.roles if r.startswith(prefix))

    @property
    def pole_ids(self) -> frozenset[str]:
        return self.scoped("pole")

    @property
    def region_codes(self) -> frozenset[str]:
        return self.scoped("region")


def mint_token(secret: str, subject: str, roles: list[str], ttl_seconds: int = 3600) -> str:
    unknown = [role for role in roles if not valid_role(role)]
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)}")
    now = int(time.time())
    claims = {"sub": subject, "roles": roles, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(secret: str, token: str) -> Principal:
    """The principal a token speaks for; raises jwt.InvalidTokenError if it is not to be trusted."""
    claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) and valid_role(r) for r in roles):
        raise jwt.InvalidTokenError("the token's roles are not valid")
    return Principal(subject=str(claims["sub"]), roles=frozenset(roles))


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def authenticator(secret: str) -> Callable[[Request], Principal]:
    """A FastAPI dependency: the request's principal, or 401."""

    def authenticate(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("a bearer token is required")
        try:
            return read_token(secret, token.strip())
        except jwt.ExpiredSignatureError as error:
            raise _unauthorized("the token has expired") from error
        except jwt.InvalidTokenError as error:
            raise _unauthorized("the token is not valid") from error

    return authenticate


def require_roles(
    authenticate: Callable[[Request], Principal], *allowed: str
) -> Callable[[Principal], Principal]:
    """A dependency that lets through principals holding one of ``allowed``; ``"pole:*"`` and
    ``"region:*"`` stand for any pôle or region."""

    def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        for role in allowed:
            if role.endswith(":*"):
                if principal.scoped(role[:-2]):
                    return principal
            elif principal.has(role):
                return principal
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this role may not do that")

    return check


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Mint a bearer token for local use.")
    sub = parser.add_subparsers(dest="command", required=True)
    mint = sub.add_parser("mint")
    mint.add_argument("--role", action="append", required=True, help="repeat for several roles")
    mint.add_argument("--subject", default="local-user")
    mint.add_argument("--ttl", type=int, default=3600, help="seconds")
    args = parser.parse_args(argv)
    secret = os.environ.get("POLES_AUTH_SECRET")
    if not secret:
        sys.exit("POLES_AUTH_SECRET is not set (make up writes one to .local/secrets/auth.env)")
    print(mint_token(secret, args.subject, args.role, args.ttl))


if __name__ == "__main__":
    main()
