import time

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from shared.auth import Principal, authenticator, mint_token, read_token, require_roles

SECRET = "unit-test-secret-that-is-long-enough"


def make_app() -> FastAPI:
    app = FastAPI()
    authenticate = authenticator(SECRET)
    deciders = require_roles(authenticate, "state", "cdc")
    poles = require_roles(authenticate, "pole:*")

    @app.get("/decide")
    def decide(principal: Principal = Depends(deciders)) -> dict[str, str]:  # noqa: B008
        return {"subject": principal.subject}

    @app.get("/pole")
    def pole(principal: Principal = Depends(poles)) -> dict[str, list[str]]:  # noqa: B008
        return {"poles": sorted(principal.pole_ids)}

    return app


client = TestClient(make_app())


def bearer(*roles: str, ttl: int = 60) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SECRET, 'someone', list(roles), ttl)}"}


def test_a_token_carries_its_subject_and_roles() -> None:
    principal = read_token(SECRET, mint_token(SECRET, "dge", ["state", "region:82"]))
    assert principal.subject == "dge"
    assert principal.region_codes == {"82"}


def test_unknown_roles_cannot_be_minted() -> None:
    with pytest.raises(ValueError, match="unknown roles"):
        mint_token(SECRET, "x", ["admin"])


def test_a_missing_token_gets_401() -> None:
    assert client.get("/decide").status_code == 401


def test_an_expired_token_gets_401() -> None:
    expired = jwt.encode(
        {"sub": "x", "roles": ["state"], "exp": int(time.time()) - 5}, SECRET, algorithm="HS256"
    )
    response = client.get("/decide", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_token_signed_with_another_secret_gets_401() -> None:
    forged = mint_token("another-secret-that-is-long-enough!", "x", ["state"])
    assert client.get("/decide", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_a_wrong_role_gets_403() -> None:
    assert client.get("/decide", headers=bearer("integrator")).status_code == 403


def test_an_allowed_role_passes() -> None:
    assert client.get("/decide", headers=bearer("cdc")).json() == {"subject": "someone"}


def test_a_scoped_wildcard_admits_any_pole_and_names_it() -> None:
    response = client.get("/pole", headers=bearer("pole:minalogic"))
    assert response.json() == {"poles": ["minalogic"]}
    assert client.get("/pole", headers=bearer("region:82")).status_code == 403
