"""The project's docs stay true: the "add a learner" example runs, and code cites only docs that exist.

* ``docs/learner_contract.md``: every python block announced by the line
  ``<!-- example: add-a-learner -->`` is run, in order, in one namespace. The
  example registers a test-only learner; whatever it registers is removed
  from the registry afterwards, so no other test sees it.
* Every ``.py`` file under ``autodl_solver/``, ``benchmarks/`` and ``tests/``
  cites the project's own ``docs/<name>.md`` files, never research notes
  outside the repository, and every ``§`` number it cites there is a heading
  of that file.
"""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from autodl_solver.domains import registry
from autodl_solver.domains.methods import BASELINE3_PORTFOLIOS, GENERIC_PORTFOLIO, SOLVER_PORTFOLIOS

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EXAMPLE_MARK = "<!-- example: add-a-learner -->"

#: Files whose references are still to be moved to docs/ (none left).
NOT_YET_MOVED: set[str] = set()

# Built from pieces so that this file does not match its own patterns.
_NOTES_NAMES = ("autodl_protocol", "winners", "environment", "peers")
OUTSIDE_REF = re.compile(r"notes" + "/" + r"|(?<![\w/])(?:" + "|".join(_NOTES_NAMES) + r")\.md")
DOCS_REF = re.compile(r"(?<![\w/.])docs/([\w.-]+\.md)")
# the section numbers right after a reference: "§2.2, §2.4", "§2.1 and §3", "§7 lesson 10", across a line break
CITED = re.compile(r"[`'\"\s#:]*((?:§\s*\d+(?:\.\d+)?(?:\s+lesson\s+\d+)?(?:\s*(?:,|and)\s*)?)+)")
SECTION = re.compile(r"§\s*(\d+(?:\.\d+)?)(?:\s+lesson\s+(\d+))?")
HEADING = re.compile(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", re.M)


def example_code(text: str, mark: str = EXAMPLE_MARK) -> list[str]:
    """The python blocks of ``text`` whose fence follows a line holding only ``mark``."""
    lines, blocks, i = text.splitlines(), [], 0
    while i < len(lines):
        if lines[i].strip() != mark:
            i += 1
            continue
        i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines) or lines[i].strip() != "```python":
            raise AssertionError(f"{mark} on line {i} is not followed by a ```python fence")
        start = i = i + 1
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        if i >= len(lines):
            raise AssertionError(f"the block after {mark} (line {start}) is never closed")
        blocks.append("\n".join(lines[start:i]) + "\n")
    return blocks


def test_example_extraction_finds_marked_blocks_only():
    text = (f"intro\n```python\nskipped = 1\n```\n{EXAMPLE_MARK}\n\n```python\na = 1\n```\n"
            f"{EXAMPLE_MARK}\n```python\nb = a\n```\n")
    assert example_code(text) == ["a = 1\n", "b = a\n"]
    with pytest.raises(AssertionError, match="not followed"):
        example_code(f"{EXAMPLE_MARK}\ntext\n")


def test_add_a_learner_example_runs_and_leaves_the_registry_as_it_was(capsys):
    blocks = example_code((DOCS / "learner_contract.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 3, "the learner, the check_learner battery and the engine run"
    registry.list_learners()  # load the built-ins first, so only the example's own names are new
    before = set(registry._REGISTRY)
    module = types.ModuleType("docs_add_a_learner")
    sys.modules[module.__name__] = module
    try:
        code = compile("\n".join(blocks), str(DOCS / "learner_contract.md"), "exec")
        exec(code, module.__dict__)
        added = set(registry._REGISTRY) - before
        assert added, "the example registers its learner"
        listed = set(GENERIC_PORTFOLIO).union(*SOLVER_PORTFOLIOS.values(), *BASELINE3_PORTFOLIOS.values())
        for name in added:
            assert name.startswith("_") and name not in listed, f"{name!r} is not a test-only name"
    finally:
        for name in set(registry._REGISTRY) - before:
            registry._REGISTRY.pop(name)
        sys.modules.pop(module.__name__, None)
    assert set(registry._REGISTRY) == before
    assert "test NAUC" in capsys.readouterr().out


def _python_files() -> list[tuple[str, str]]:
    files = []
    for top in ("autodl_solver", "benchmarks", "tests"):
        for path in sorted((REPO / top).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel not in NOT_YET_MOVED:
                files.append((rel, path.read_text(encoding="utf-8")))
    return files


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def test_code_points_to_no_notes_outside_the_repository():
    bad = [f"{rel}:{_line(text, m.start())}: {m.group(0)}"
           for rel, text in _python_files() for m in OUTSIDE_REF.finditer(text)]
    assert not bad, "cite docs/*.md instead:\n" + "\n".join(bad)


def test_cited_docs_and_sections_exist():
    headings = {p.name: set(HEADING.findall(p.read_text(encoding="utf-8"))) for p in DOCS.glob("*.md")}
    texts = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.md")}
    bad, cited = [], 0
    for rel, text in _python_files():
        for m in DOCS_REF.finditer(text):
            where, name = f"{rel}:{_line(text, m.start())}", m.group(1)
            if name not in headings:
                bad.append(f"{where}: docs/{name} does not exist")
                continue
            cited += 1
            after = CITED.match(text, m.end())
            for section, lesson in SECTION.findall(after.group(1) if after else ""):
                if section not in headings[name]:
                    bad.append(f"{where}: docs/{name} has no section {section}")
                elif lesson and not re.search(rf"^{lesson}\. ", texts[name], re.M):
                    bad.append(f"{where}: docs/{name} has no lesson {lesson}")
    assert not bad, "\n".join(bad)
    assert cited >= 30  # the code's citations were found at all


def test_cited_section_parser():
    text = "see ``docs/winners.md`` §2.2, §2.4): and docs/protocol.md\n§4.1): x; docs/winners.md §7 lesson 10."
    found = []
    for m in DOCS_REF.finditer(text):
        after = CITED.match(text, m.end())
        found.append((m.group(0), SECTION.findall(after.group(1) if after else "")))
    assert found == [("docs/winners.md", [("2.2", ""), ("2.4", "")]), ("docs/protocol.md", [("4.1", "")]),
                     ("docs/winners.md", [("7", "10")])]
