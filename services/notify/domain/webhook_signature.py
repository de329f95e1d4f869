"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``.

Secrets look like ``whsec_<base64>``; the key is the decoded part after the prefix. While a
rotated secret's overlap lasts, a message carries one signature per valid secret, separated by
spaces, so receivers holding either secret accept it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    valid_secrets: Iterable[str], message_id: str, timestamp: int, body: bytes
) -> str:
    return " ".join(sign(secret, message_id, timestamp, body) for secret in valid_secrets)


def webhook_headers(
    valid_secrets: Iterable[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(valid_secrets, message_id, timestamp, body),
    }
