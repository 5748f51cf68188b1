"""Every Python block of docs/embedding.md runs, in order, in one namespace
(later blocks use what earlier ones imported), as a reader would run them;
so does the example of the README's Embedding section."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "embedding.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def test_the_doc_has_examples() -> None:
    assert len(BLOCK.findall(DOC.read_text())) >= 8


def test_every_python_block_runs() -> None:
    namespace: dict[str, object] = {"__name__": "embedding_doc"}
    for index, block in enumerate(BLOCK.findall(DOC.read_text())):
        code = compile(block, f"{DOC.name}[block {index + 1}]", "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation


def test_the_readme_embedding_example_runs(capsys) -> None:
    section = (ROOT / "README.md").read_text().split("\n## Embedding\n", 1)[1].split("\n## ", 1)[0]
    blocks = BLOCK.findall(section)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md[Embedding]", "exec"), {"__name__": "readme"})  # noqa: S102
    assert "step limit of 1000000 steps exceeded" in capsys.readouterr().out
