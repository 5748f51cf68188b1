"""The per-user cache of the code pvm generates: tier 0's compiled
translations and the JIT's machine code.

Translating a hot function (pvm.translate) writes Python source and compiles
it with the host's ``compile()``: 1-3 ms a function, 90-120 ms of a run of
bench/exceptions.src or bench/deltablue.src, where the code objects unmarshal
in about 1 ms. The JIT's LLVM passes and code generation take 10-100 ms a
module. A program run again generates the same source and the same IR for
the same functions, so what they compile to is kept here, one file per
SHA-256 of the host's version and everything the code is made from.

What is loaded from here runs as host or machine code, unverified, so the
cache must be the user's own: each folder is made private (0700) and not used
at all if it belongs to someone else or others may write to it. Each file
holds the SHA-256 of its contents, checked before anything is loaded, so a
damaged file is compiled again and replaced, never run. Writing is best
effort and atomic, like the module cache's (pvm.loader), and each folder is
kept to MAX_ENTRIES files.

Off unless ``enable()`` is called: ``pvm run`` enables it (``PVM_NO_CACHE=1``
turns it off); an embedding application opts in.
"""

from __future__ import annotations

import marshal
import os
import sys
from types import CodeType

from _sha256 import sha256

from pvm.loader import write_atomic

_HOST = f"{sys.implementation.cache_tag} {sys.hexversion:x}".encode()
_DIGEST_BYTES = 32

_enabled = False
_root: str | None = None                  # the cache's folder as enable() was given it
_folders: dict[str, str | None] = {}      # kind -> its folder once made and checked (None: unusable)
MAX_ENTRIES = 4096                        # files per folder (about 50 MB of translations)
PRUNE_EVERY = 16                          # stores per look at the folder's size (a listing: 3 ms at 4096 files)


def private_directory(path: str | None = None) -> str | None:
    """``path``, or pvm's cache folder: the first of ``$XDG_CACHE_HOME/pvm``,
    ``~/.cache/pvm`` and ``pvm-cache-UID`` in the temporary folder that can be
    made and is ours alone (the parser's tables are cached there too); None if
    none is."""
    if path is not None:
        return path if _make_private(path) else None
    candidates = [os.path.join(os.environ["XDG_CACHE_HOME"], "pvm")] if os.environ.get("XDG_CACHE_HOME") else []
    candidates.append(os.path.join(os.path.expanduser("~"), ".cache", "pvm"))
    for candidate in candidates:
        if _make_private(candidate):
            return candidate
    import tempfile      # only when the others fail: it imports shutil and random, 4-6 ms of a run

    fallback = os.path.join(tempfile.gettempdir(), f"pvm-cache-{os.getuid() if hasattr(os, 'getuid') else 0}")
    return fallback if _make_private(fallback) else None


def _make_private(folder: str) -> bool:
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        status = os.stat(folder)
    except OSError:
        return False
    owner = os.getuid() if hasattr(os, "getuid") else status.st_uid
    return status.st_uid == owner and not status.st_mode & 0o022 and os.access(folder, os.W_OK)


def enable(path: str | None = None) -> None:
    """Cache generated code under ``path`` (default: ``private_directory()``)
    for the rest of this process. Folders are made and checked at first use,
    so a run that generates nothing never touches the disk; one that is not
    private leaves that code uncached."""
    global _enabled, _root
    _enabled, _root = True, path
    _folders.clear()


def enabled() -> bool:
    return _enabled


def disable() -> None:
    global _enabled
    _enabled = False
    _folders.clear()


def entry(kind: str, *key: bytes) -> str | None:
    """The file that holds ``kind``'s code (``"translated"``, ``"native"``) for
    ``key`` (everything the code is made from) on this host; None when off."""
    if not _enabled:
        return None
    if kind not in _folders:
        root = private_directory(_root)
        folder = os.path.join(root, kind) if root is not None else None
        _folders[kind] = folder if folder is not None and _make_private(folder) else None
    folder = _folders[kind]
    if folder is None:
        return None
    return os.path.join(folder, sha256(b"\0".join((_HOST, *key))).hexdigest())


def read(path: str) -> bytes | None:
    """What ``store`` wrote at ``path``, or None if missing or damaged."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    payload = data[_DIGEST_BYTES:]
    return payload if sha256(payload).digest() == data[:_DIGEST_BYTES] else None


def store(path: str, payload: bytes) -> None:
    """Best effort: a cache that cannot be written is just not filled. One
    store in PRUNE_EVERY (by its name, a hash) first keeps the folder to
    MAX_ENTRIES files, dropping the half written longest ago: a script run
    on other inputs may translate differently, so entries pile up."""
    if int(os.path.basename(path)[:8], 16) % PRUNE_EVERY == 0:
        _prune(os.path.dirname(path))
    try:
        write_atomic(path, sha256(payload).digest() + payload)
    except OSError:
        pass


def _prune(folder: str) -> None:
    try:
        with os.scandir(folder) as listing:
            paths = [item.path for item in listing]      # no stat yet: most folders are not full
    except OSError:
        return
    if len(paths) < MAX_ENTRIES:
        return
    dated = []
    for path in paths:
        try:
            dated.append((os.stat(path).st_mtime, path))
        except OSError:       # another process pruned it meanwhile
            pass
    for _, path in sorted(dated)[:len(dated) // 2]:
        try:
            os.unlink(path)
        except OSError:
            pass


def compile_source(source: str, filename: str) -> CodeType:
    """``compile(source, filename, "exec")``, from the cache when it holds it."""
    path = entry("translated", filename.encode(), source.encode())
    if path is not None:
        payload = read(path)
        if payload is not None:
            try:
                code = marshal.loads(payload)
            except (EOFError, ValueError, TypeError):
                code = None
            if type(code) is CodeType:
                return code
    code = compile(source, filename, "exec")
    if path is not None:
        store(path, marshal.dumps(code))
    return code
