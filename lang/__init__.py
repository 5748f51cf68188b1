"""pvm's front end: grammar, parser, AST, scopes and the bytecode compiler."""

from __future__ import annotations

from pvm.code import Code


def compile_source(source: str, filename: str) -> Code:
    """Parse and compile ``source``: lang.parser.parse, then compile_module.

    Raises PvmSyntaxError / PvmCompileError for programs that do not compile.
    """
    # Imported here so that `import lang.ast` does not load the parser and compiler.
    from lang.compiler import compile_module
    from lang.parser import parse

    return compile_module(parse(source, filename), filename)
