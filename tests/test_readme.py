"""The README's command list is the CLI's: every command and option it shows exists, and
every command the CLI has is shown."""
from __future__ import annotations

import re

from incident_timeline.cli import main
from tests.support import REPO


def _readme_commands() -> dict[str, set[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Commands", 1)[1].split("```", 2)[1]
    commands = {}
    for line in block.splitlines():
        m = re.match(r"incident-timeline \[--config PATH\] (?P<cmd>[a-z-]+)(?P<rest>.*)", line.strip())
        if m:
            commands[m.group("cmd")] = set(re.findall(r"--[a-z-]+", m.group("rest")))
    return commands


def test_readme_lists_every_command_and_only_real_options():
    shown = _readme_commands()
    assert set(shown) == set(main.commands)
    for name, options in shown.items():
        real = {opt for p in main.commands[name].params for opt in getattr(p, "opts", [])}
        assert options <= real, f"{name}: {options - real} in the README but not in --help"


def test_the_demo_command_in_the_readme_is_the_one_the_fixtures_support():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = text.split("## Two commands", 1)[1].split("\n## ", 1)[0].split("```sh\n")[1:]
    demo, tests = (b.split("```", 1)[0].strip() for b in blocks[:2])
    venv = "python3 -m venv .venv && . .venv/bin/activate && "
    assert demo == venv + "pip install -e . && incident-timeline run pagerduty:Q2W3E4R"
    assert tests == venv + "pip install -e '.[test]' && python -m pytest"
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == tests
