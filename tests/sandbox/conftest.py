"""Shared helpers for the sandbox tests."""

from __future__ import annotations

import pytest

import pvm


@pytest.fixture
def out() -> list[str]:
    return []


@pytest.fixture
def vm(out: list[str]) -> pvm.VM:
    """A VM with the default limits whose output is collected in ``out``."""
    return pvm.VM(stdout=out.append)
