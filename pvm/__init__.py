"""pvm: a process virtual machine for a strict subset of Python."""

__version__ = "0.1.0"
