"""What the newcomer is told to type and to open (issue 17): every command and address that
README.md, deploy/RUNBOOK.md and the demo's last screen print, parsed from the documents so that
a command added to them is checked too, and a scratch checkout to run them in.

The demo's last screen is what ``deploy/local/where.sh`` prints and the lines ``tests/story/
demo.py`` says (``say(...)``). A command is a line of a fenced block whose lines all start like
a command, a line of an indented block (four spaces), or an inline code span of two words or more
that starts with a program (``make``, ``curl``, ``kcat``, a script of the repository, ...),
``VAR=value`` assignments before it allowed. An address is an ``http://`` or ``mongodb://`` URL on
127.0.0.1 or localhost, a bare ``127.0.0.1:<port>``, an inline ``GET|POST /route`` (a route of
some service) or an inline ``/path`` in a paragraph that says "every service serves" (``/docs``,
``/metrics``, ...: fetched on each of the four).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES_SH = ROOT / "deploy" / "local" / "services.sh"
WHERE_SH = ROOT / "deploy" / "local" / "where.sh"
DEMO = ROOT / "tests" / "story" / "demo.py"
TOKEN_COMMAND = (
    "source .local/secrets/auth.env && .venv/bin/python -m shared.auth mint --role operator"
)
PROGRAMS = {
    "cat", "cp", "curl", "docker", "grep", "kafka-acls.sh", "kafka-configs.sh", "kcat",
    "kubectl", "make", "python", "source",
}  # fmt: skip
"""The programs a printed command may start with, besides the repository's own scripts."""

_ASSIGNMENT = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*")
_FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_INDENTED = re.compile(r"(?:(?<=\n\n)|^)((?: {4}\S.*\n)+)")
_SPAN = re.compile(r"(?<!`)`([^`]+)`(?!`)")
_URL = re.compile(r"(?:https?|mongodb)://[^\s`'\")|]*(?:127\.0\.0\.1|localhost)[^\s`'\")|]*")
_BARE = re.compile(r"(?<![/\w.:@])127\.0\.0\.1:\d+\b(?!/)")
_PAGE = re.compile(r"(?<=: )(/[\w./-]+)")
_ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (\S+)$")


@dataclass(frozen=True)
class Printed:
    text: str
    where: str


def demo_lines() -> str:
    """The literal text of every ``say(...)`` of the demo (f-strings' literal parts), and where it
    says the traces are, as it prints it."""
    from tests.story.demo import where_traces
    from tests.story.traces import StepTraces

    tree = ast.parse(DEMO.read_text())
    said = [
        node.value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "say"
        for node in ast.walk(call)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    return "\n".join([*said, where_traces(StepTraces())])


def documents() -> dict[str, tuple[str, bool]]:
    """Each document's text, and whether it is Markdown (else a plain screen)."""
    where = subprocess.run([str(WHERE_SH)], capture_output=True, text=True, check=True).stdout
    return {
        "README.md": ((ROOT / "README.md").read_text(), True),
        "deploy/RUNBOOK.md": ((ROOT / "deploy" / "RUNBOOK.md").read_text(), True),
        "where.sh (the demo's last screen)": (where, False),
        "tests/story/demo.py (the demo's own lines)": (demo_lines(), True),
    }


def _one_line(text: str) -> str:
    return " ".join(text.replace("\\|", "|").split())


def starts_a_command(text: str) -> bool:
    words = _ASSIGNMENT.sub("", text).split()
    if not words:
        return False
    first = words[0]
    return first in PROGRAMS or (
        "/" in first and not first.startswith("/") and (ROOT / first).is_file()
    )


def commands_in(text: str) -> list[str]:
    found: list[str] = []
    for language, block in _FENCE.findall(text):
        lines = [line for line in block.splitlines() if line.strip()]
        if language in {"", "sh", "bash", "shell"} and all(map(starts_a_command, lines)):
            found += [line.split("  #", 1)[0].strip() for line in lines]
    without_fences = _FENCE.sub("", text)
    for block in _INDENTED.findall(without_fences):
        found += [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]
    for span in _SPAN.findall(without_fences):
        command = _one_line(span)
        if len(command.split()) >= 2 and starts_a_command(command):
            found.append(command)
    return found


def commands_in_plain(text: str) -> list[str]:
    """A plain screen's commands: what follows a colon on a line (``Stop everything with: make
    down``), when it starts like a command."""
    segments = (part.strip() for line in text.splitlines() for part in line.split(": ")[1:])
    return [_one_line(segment) for segment in segments if starts_a_command(segment)]


def addresses_in(text: str) -> list[str]:
    spans = [_one_line(span) for span in _SPAN.findall(text)]
    routes = [span for span in spans if _ROUTE.match(span) and span.split()[1].startswith("/")]
    every_service = [
        _one_line(span)
        for paragraph in re.split(r"\n\s*\n", text)
        if "every service serves" in paragraph.lower()
        for span in _SPAN.findall(paragraph)
        if re.fullmatch(r"/[\w./-]+", span)
    ]
    return _URL.findall(text) + _BARE.findall(text) + routes + every_service


def addresses_in_plain(text: str) -> list[str]:
    """A plain screen's addresses, and the pages it names beside one (``http://127.0.0.1:9090
    (alerts: /classic/alerts)`` prints http://127.0.0.1:9090/classic/alerts)."""
    pages = [
        url.rstrip("/") + page
        for line in text.splitlines()
        for url in _URL.findall(line)[:1]
        for page in _PAGE.findall(line)
    ]
    return addresses_in(text) + pages


def inventory() -> tuple[list[Printed], list[Printed]]:
    """Every printed command and every printed address (but those inside a command), each once,
    with its first document."""
    commands: dict[str, Printed] = {}
    addresses: dict[str, Printed] = {}
    for where, (text, markdown) in documents().items():
        for command in commands_in(text) if markdown else commands_in_plain(text):
            commands.setdefault(command, Printed(command, where))
        for address in addresses_in(text) if markdown else addresses_in_plain(text):
            addresses.setdefault(address.rstrip(".,;:"), Printed(address.rstrip(".,;:"), where))
    # An address inside a printed command is checked by running the command.
    alone = [
        item
        for item in addresses.values()
        if not (_URL.fullmatch(item.text) and any(item.text in command for command in commands))
    ]
    return list(commands.values()), alone


def write_secret(local: Path) -> None:
    """Runs services.sh's own ``secret`` function (and nothing else of it) on ``local``."""
    text = SERVICES_SH.read_text()
    match = re.search(r"^secret\(\) \{\n.*?^\}\n", text, re.MULTILINE | re.DOTALL)
    assert match, "no secret() function in deploy/local/services.sh"
    script = f'set -euo pipefail\nLOCAL="$1"\nPYTHON="$2"\n{match.group(0)}secret\n'
    subprocess.run(["bash", "-c", script, "secret", str(local), sys.executable], check=True)


def scratch_checkout(directory: Path, secrets: Path | None = None) -> Path:
    """A directory that looks like the checkout to a printed command: the repository's code and
    scripts (symbolic links), and its own ``.local`` with an auth.env written by services.sh and,
    given ``secrets``, a copy of a local stack's other secrets (its broker's and store's logins)."""
    for name in [".venv", "shared", "services", "tests", "deploy", "Makefile"]:
        (directory / name).symlink_to(ROOT / name)
    local = directory / ".local"
    if secrets is not None:
        shutil.copytree(secrets, local / "secrets")
    write_secret(local)
    return directory


def user_env(directory: Path, **env: str) -> dict[str, str]:
    """A user's environment in the scratch checkout ``directory``: none of the caller's POLES_*
    settings nor the test stack's ports (test-stack.sh exports them), the checkout's own local dir,
    and ``env``."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POLES_", "KAFKA_", "FERRETDB_", "PROMETHEUS_", "JAEGER_"))
    }
    return {**base, "POLES_LOCAL_DIR": str(directory / ".local"), **env}


def run_printed(
    directory: Path, command: str, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """``command`` through bash in ``directory``, as a user would type it (``user_env``)."""
    return subprocess.run(
        ["bash", "-c", command],
        cwd=directory,
        env=user_env(directory, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
