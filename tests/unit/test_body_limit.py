from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.http import BodySizeLimit

parsed: list[int] = []


class Body(BaseModel):
    text: str


def make_client(max_bytes: int) -> TestClient:
    app = FastAPI()
    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)

    @app.post("/echo")
    def echo(body: Body) -> dict[str, int]:
        parsed.append(len(body.text))
        return {"length": len(body.text)}

    return TestClient(app)


def test_a_body_within_the_limit_is_handled() -> None:
    assert make_client(1000).post("/echo", json={"text": "x" * 10}).json() == {"length": 10}


def test_a_declared_length_over_the_limit_gets_413_before_parsing() -> None:
    parsed.clear()
    response = make_client(100).post("/echo", json={"text": "x" * 500})
    assert response.status_code == 413
    assert parsed == []


def test_a_streamed_body_over_the_limit_gets_413() -> None:
    parsed.clear()

    def chunks() -> object:
        yield b'{"text": "'
        yield b"x" * 500
        yield b'"}'

    response = make_client(100).post(
        "/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert parsed == []
