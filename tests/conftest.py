"""What every test folder shares."""

import compileall
import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session: object) -> None:
    """Byte-compile pvm and lang once. The suite starts about 1500 `python -m pvm`
    processes with PYTHONDONTWRITEBYTECODE set (tests/programs sets it for both
    runtimes), so none of them writes pvm's bytecode: without this, each would
    compile pvm from source again (0.1 s of every run on a fresh clone). Their
    per-user cache (pvm.codecache) is one of the session's own, so the suite
    neither reads nor fills the user's."""
    for package in ("pvm", "lang"):
        compileall.compile_dir(REPO / package, quiet=1)
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="pvm-tests-cache-")


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    shutil.rmtree(os.environ["XDG_CACHE_HOME"], ignore_errors=True)
