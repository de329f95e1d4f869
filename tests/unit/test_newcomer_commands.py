"""The commands printed for a newcomer work as printed (issue 17).

The token command of README.md, deploy/RUNBOOK.md and the demo's last screen
(deploy/local/where.sh) is run through bash exactly as printed, in a scratch directory holding
an auth.env written by the very ``secret`` function of deploy/local/services.sh. No server runs;
tests/integration/test_newcomer_path.py runs every other printed command and address.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.auth import read_token
from tests.support.auth_env import read_auth_secret
from tests.support.printed import (
    ROOT,
    TOKEN_COMMAND,
    WHERE_SH,
    run_printed,
    scratch_checkout,
    write_secret,
)

PRINTED_IN = [ROOT / "README.md", ROOT / "deploy" / "RUNBOOK.md", WHERE_SH]


@pytest.mark.parametrize("document", PRINTED_IN, ids=lambda path: path.name)
def test_the_token_command_is_printed_as_tested(document: Path) -> None:
    assert TOKEN_COMMAND in document.read_text()


def test_auth_env_exports_its_secret(tmp_path: Path) -> None:
    write_secret(tmp_path)
    lines = (tmp_path / "secrets" / "auth.env").read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("export POLES_AUTH_SECRET=")
    assert len(read_auth_secret(tmp_path / "secrets" / "auth.env")) >= 32


def test_the_printed_token_command_mints_a_token_the_secret_reads(tmp_path: Path) -> None:
    directory = scratch_checkout(tmp_path)
    done = run_printed(directory, TOKEN_COMMAND)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    secret = read_auth_secret(directory / ".local" / "secrets" / "auth.env")
    principal = read_token(secret, token)
    assert principal.has("operator")


def test_an_old_auth_env_is_migrated_keeping_its_secret(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    old = "POLES_AUTH_SECRET=an-old-secret-of-this-machine-long-enough-for-hs256"
    (secrets / "auth.env").write_text(old + "\n")
    assert read_auth_secret(secrets / "auth.env").startswith("an-old-secret")
    write_secret(tmp_path)
    assert (secrets / "auth.env").read_text() == f"export {old}\n"
    assert read_auth_secret(secrets / "auth.env").startswith("an-old-secret")


def test_the_printed_alerts_address_is_the_one_debians_prometheus_serves() -> None:
    # Debian's Prometheus 2.42 answers 404 on /alerts; its alerts page is /classic/alerts.
    for document in [ROOT / "deploy" / "RUNBOOK.md", WHERE_SH]:
        text = document.read_text()
        assert "/classic/alerts" in text, document
        assert not re.search(r"(?<!/classic)/alerts\b", text.replace("/api/v1/alerts", "")), (
            document
        )
