"""The README stays true: its two quick-start commands, CI, and its Python examples run."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from asyncdlms.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    ci_script = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci_script.splitlines()
    # an && chain does not stop `set -e`: CI must check the chain's status itself
    following = ci_script.split(commands[1], 1)[1]
    assert "status=$?" in following.splitlines()[1]


def test_main_job_command_polls_the_simulated_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    main_job = _quick_start_commands()[0].split("&&", 1)[1]
    argv = shlex.split(main_job)
    assert argv[:3] == ["python3", "-m", "asyncdlms"]
    assert main(argv[3:]) == 0
    out = capsys.readouterr().out
    assert out.startswith("100 meters: 100 ok, 0 failed; 500 reads in")


# a python block, and the ```text block right after it: what it prints
_EXAMPLE = re.compile(r"```python\n(.*?)\n```(?:\n\n```text\n(.*?)\n```)?", flags=re.S)


def _examples(text: str = README) -> list[tuple[str, str | None]]:
    return [(code, printed or None) for code, printed in _EXAMPLE.findall(text)]


def test_python_examples_run_and_print_what_the_readme_says() -> None:
    examples = _examples()
    assert examples
    for block, printed in examples:
        if block.startswith("# needs "):  # a meter or a line: compiled, not run
            # at least valid Python (snippets may await at top level, as in a notebook)
            compile(block, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            assert printed is None
            continue
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(block, "README.md", "exec"), {})
        if printed is not None:
            assert output.getvalue() == printed + "\n", block.splitlines()[:3]


def test_the_security_suite_examples_have_their_output_checked() -> None:
    section = README.split("### Security suites 1 and 2", 1)[1].split("\n#### The ACCESS", 1)[0]
    examples = _examples(section)
    printing = [printed for code, printed in examples if "print(" in code]
    assert len(printing) == 2 and all(printing)
    general = section.split("#### General signing and general ciphering", 1)[1]
    assert any("GeneralCipheringProtection(" in code for code, _ in _examples(general))
