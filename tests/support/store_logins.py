"""Logins on a local store of deploy/local/ferretdb.sh, read from the secrets file it generated.

``<local dir>/secrets/mongo.env`` holds ``MONGO_ROOT_PASSWORD`` (root, database admin: may do all)
and ``MONGO_<SERVICE>_PASSWORD`` (the service's user, in and limited to ``poles_<service>``), as
compose's MongoDB does. The test suite, the demo and the bench log in as root.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

ROOT_USER = "root"


def secrets_file(local_dir: Path) -> Path:
    return local_dir / "secrets" / "mongo.env"


def store_url(address: str, local_dir: Path, user: str = ROOT_USER) -> str:
    """``mongodb://<user>:<password>@<address>/<db>?authSource=<db>`` for a store at ``address``
    (``host:port`` or an anonymous ``mongodb://host:port`` URL): root in admin, a service's user
    in ``poles_<service>``."""
    path = secrets_file(local_dir)
    secrets = dict(
        line.strip().split("=", 1) for line in path.read_text().splitlines() if "=" in line
    )
    variable = f"MONGO_{user.upper()}_PASSWORD"
    if variable not in secrets:
        raise KeyError(
            f"{path} has no {variable}: was the store started by deploy/local/ferretdb.sh?"
        )
    host = address.removeprefix("mongodb://").split("/", 1)[0].split("?", 1)[0]
    database = "admin" if user == ROOT_USER else f"poles_{user}"
    password = quote(secrets[variable], safe="")
    return f"mongodb://{user}:{password}@{host}/{database}?authSource={database}"


def admin_url(address: str, local_dir: Path) -> str:
    """Root's URL when the store has logins (its secrets file exists), else ``address`` as it is
    (a store started before logins existed)."""
    if not secrets_file(local_dir).is_file():
        return address
    return store_url(address, local_dir)
