import base64
import hashlib
import hmac
import time

from standardwebhooks import Webhook

from services.notify.domain.webhook_signature import new_secret, sign, webhook_headers

BODY = b'{"id":"e-1","type":"calls.call.opened.v1"}'


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body_with_the_decoded_key() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    expected = hmac.new(b"k" * 32, b"msg_1.1700000000." + BODY, hashlib.sha256).digest()
    assert sign(secret, "msg_1", 1700000000, BODY) == "v1," + base64.b64encode(expected).decode()


def test_the_standard_webhooks_library_accepts_our_headers() -> None:
    secret = new_secret()
    headers = webhook_headers([secret], "msg_1", int(time.time()), BODY)
    assert Webhook(secret).verify(BODY, headers) is not None


def test_during_a_rotation_receivers_holding_either_secret_accept_the_message() -> None:
    old, new = new_secret(), new_secret()
    headers = webhook_headers([new, old], "msg_1", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers) is not None
    assert Webhook(new).verify(BODY, headers) is not None
