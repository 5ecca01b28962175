"""The examples of the portal's guides, extracted as a reader would copy them, and run."""

import json
import re
import subprocess
from dataclasses import dataclass
from typing import Any

from app.portal.pages import guide_source

# The address every guide's examples use: the server that `make run` starts.
MADE_BY_MAKE_RUN = "http://127.0.0.1:8000"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    """One fenced block of a guide."""

    language: str
    text: str


def examples(guide: str) -> list[Example]:
    """Every fenced block of a guide, in order."""
    return [Example(m.group(1), m.group(2)) for m in FENCE.finditer(guide_source(guide))]


def run_shell_examples(guide: str, base_url: str, timeout: float = 120) -> list[str]:
    """Run a guide's `sh` blocks in order in one bash, against `base_url`; the output of each.

    Fails (AssertionError) at the first block that exits non-zero or prints a GraphQL error."""
    blocks = [e.text for e in examples(guide) if e.language == "sh"]
    marker = "=====lumen-guide-block====="
    script = f"\necho {marker}\n".join(blocks).replace(MADE_BY_MAKE_RUN, base_url)
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    outputs = done.stdout.split(marker + "\n")
    failed = len(outputs) - 1
    assert done.returncode == 0, (
        f"{guide} block {failed + 1} failed ({done.returncode}):\n{blocks[failed]}\n"
        f"--- stdout\n{outputs[-1]}\n--- stderr\n{done.stderr}"
    )
    for number, output in enumerate(outputs):
        for answer in _json_values(output):
            assert not _graphql_problems(answer), f"{guide} block {number + 1}: {answer}"
    return outputs


def _json_values(output: str) -> list[Any]:
    """The JSON documents a block printed, one per line where they parse."""
    found = []
    for line in output.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def _graphql_problems(answer: Any) -> list[Any]:
    """GraphQL errors and non-empty `userErrors` anywhere in an answer."""
    if not isinstance(answer, dict):
        return []
    problems = list(answer.get("errors") or []) if "data" in answer else []
    stack: list[Any] = [answer.get("data")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            problems += node.get("userErrors") or []
            stack += node.values()
        elif isinstance(node, list):
            stack += node
    return problems
