"""What every test folder shares."""

import compileall
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session: object) -> None:
    """Byte-compile pvm and lang once. The suite starts about 1500 `python -m pvm`
    processes with PYTHONDONTWRITEBYTECODE set (tests/programs sets it for both
    runtimes), so none of them writes pvm's bytecode: without this, each would
    compile pvm from source again (0.1 s of every run on a fresh clone)."""
    for package in ("pvm", "lang"):
        compileall.compile_dir(REPO / package, quiet=1)
