"""Blocks: loops, ``try`` and ``with``, and what leaving them early takes.

``try`` compiles as CPython 3.11 compiles it: the protected code is marked for
the assembler's exception table, a handler starts with PUSH_EXC_INFO (the
exception it handles, and the one handled before, stay on the stack until
POP_EXCEPT) and a cleanup handler restores the previous one if the handler
itself raises. ``finally`` bodies are compiled twice (normal and exceptional
path) and once more for each ``return``, ``break`` or ``continue`` that leaves
them; ``unwind`` emits what leaving each enclosing block takes. ``with`` is a
protected region whose handler calls ``__exit__`` with the exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from lang import ast
from lang.assembler import Label
from lang.compile_expr import ExprCompiler
from pvm.opcodes import Op

MAX_NESTED_BLOCKS = 20           # CPython's CO_MAXBLOCKS


@dataclass
class Loop:
    is_for: bool
    head: Label                  # `continue` target
    exit: Label                  # `break` target


@dataclass
class Block:
    """A statement the code being compiled is nested in, as far as leaving it
    early (return, break, continue) takes instructions."""

    kind: str                    # 'loop' | 'try' | 'finally' | 'handler' | 'finally_end' | 'pop_value' | 'with'
    loop: Loop | None = None
    finalbody: list[ast.Stmt] | None = None   # 'finally': inlined on the way out
    name: str | None = None      # 'handler': the `as` name to clear
    regions: int = 0             # protected regions to close ('handler', 'finally_end')
    line: int = 0                # 'with': the line its __exit__ call is reported at


class BlockCompiler(ExprCompiler):
    """The statements that open blocks; pvm's Compiler builds on it."""

    def push_block(self, node: ast.Node, block: Block) -> None:
        if len(self.unit.blocks) >= MAX_NESTED_BLOCKS:
            raise self.error("too many statically nested blocks", node)
        self.unit.blocks.append(block)

    def push_loop(self, node: ast.Stmt, loop: Loop) -> None:
        self.push_block(node, Block("loop", loop=loop))

    def innermost_loop(self) -> Loop | None:
        return next((block.loop for block in reversed(self.unit.blocks) if block.loop is not None), None)

    def unwind(self, to_loop: bool, keep_top: bool) -> Loop | None:
        """Leave the enclosing blocks, innermost first, up to the innermost loop
        (``to_loop``) or the function; ``keep_top`` keeps the value on top of
        the stack (a return value) above what is popped."""
        saved = list(self.unit.blocks)
        try:
            while self.unit.blocks:
                block = self.unit.blocks[-1]
                if block.kind == "loop" and to_loop:
                    return block.loop
                self.unit.blocks.pop()
                self.leave(block, keep_top)
            return None
        finally:
            self.unit.blocks[:] = saved

    def leave(self, block: Block, keep_top: bool) -> None:
        b = self.unit.b
        if block.kind == "try":
            b.pop_block()
        elif block.kind == "finally":
            b.pop_block()
            if keep_top:      # a break, continue or return in the finally body drops the value kept
                self.unit.blocks.append(Block("pop_value"))
            self.stmts(block.finalbody or [])
            if keep_top:
                self.unit.blocks.pop()
        elif block.kind == "with":
            b.pop_block()
            if keep_top:
                b.emit(Op.SWAP, 2)
            self.call_exit(block.line)
        elif block.kind == "pop_value":
            if keep_top:
                b.emit(Op.SWAP, 2)
            b.emit(Op.POP_TOP)
        elif block.kind in ("handler", "finally_end"):
            for _ in range(block.regions):
                b.pop_block()
            if keep_top:                                  # [prev, exc, value] -> [value]
                b.emit(Op.SWAP, 2)
                b.emit(Op.POP_TOP)
                b.emit(Op.SWAP, 2)
            else:
                b.emit(Op.POP_TOP)
            b.emit(Op.POP_EXCEPT)
            if block.name is not None:
                self.clear_name(block.name)

    def stmt_Raise(self, node: ast.Raise) -> None:
        # [exc; [cause]]; RAISE_VARARGS n
        count = 0
        if node.exc is not None:
            self.expr(node.exc)
            count = 1
            if node.cause is not None:
                self.expr(node.cause)
                count = 2
        self.unit.b.emit(Op.RAISE_VARARGS, count)

    def stmt_Try(self, node: ast.Try) -> None:
        if not node.finalbody:
            self.try_except(node)
        elif node.handlers:
            self.try_finally(node, lambda: self.try_except(node))
        else:
            self.try_finally(node, lambda: self.stmts(node.body))

    def try_except(self, node: ast.Try) -> None:
        # SETUP h; body; POP_BLOCK; orelse; JUMP end
        # h: PUSH_EXC_INFO; SETUP cleanup; (clause)*; POP_BLOCK; SWAP 2; POP_EXCEPT; RERAISE; cleanup: ...; end:
        # clause: [type; CHECK_EXC_MATCH; POP_JUMP_IF_FALSE next]; [COPY 1; store name; SETUP named]
        #         body; [POP_BLOCK]; POP_BLOCK; POP_TOP; POP_EXCEPT; [clear name]; JUMP end
        #         [named: clear name; RERAISE]; next:
        b = self.unit.b
        handler, cleanup, end = Label(), Label(), Label()
        self.protected(node, Block("try"), handler, lambda: self.stmts(node.body))
        b.pop_block()
        self.stmts(node.orelse)
        b.jump_to(end)
        self.handler_entry(handler, cleanup, node.handlers[0].line)
        for clause in node.handlers:
            b.line = clause.line
            b.node = clause
            next_clause = Label()
            if clause.type is not None:
                self.expr(clause.type)
                b.emit(Op.CHECK_EXC_MATCH)
                b.jump(Op.POP_JUMP_IF_FALSE, next_clause)
            named = Label()
            if clause.name is not None:
                b.emit(Op.COPY, 1)
                self.store_name(clause.name)
                b.setup(named)
            regions = 2 if clause.name is not None else 1
            self.push_block(clause, Block("handler", name=clause.name, regions=regions))
            self.stmts(clause.body)
            self.unit.blocks.pop()
            if b.reachable():
                for _ in range(regions):
                    b.pop_block()
                b.emit(Op.POP_TOP)
                b.emit(Op.POP_EXCEPT)
                if clause.name is not None:
                    self.clear_name(clause.name)
                b.jump_to(end)
            if clause.name is not None:
                b.place(named)                    # [prev, exc, new]: the name goes, new goes on
                self.clear_name(clause.name)
                b.emit(Op.RERAISE)
            b.place(next_clause)
        b.pop_block()                             # no clause matched: restore and re-raise
        b.emit(Op.SWAP, 2)
        b.emit(Op.POP_EXCEPT)
        b.emit(Op.RERAISE)
        self.cleanup_handler(cleanup)
        b.place(end)

    def try_finally(self, node: ast.Try, body: Callable[[], None]) -> None:
        # SETUP h; body; POP_BLOCK; finalbody; JUMP end
        # h: PUSH_EXC_INFO; SETUP cleanup; finalbody; POP_BLOCK; SWAP 2; POP_EXCEPT; RERAISE; cleanup: ...; end:
        b = self.unit.b
        handler, cleanup, end = Label(), Label(), Label()
        self.protected(node, Block("finally", finalbody=node.finalbody), handler, body)
        if b.reachable():
            b.pop_block()
            self.stmts(node.finalbody)
            b.jump_to(end)
        self.handler_entry(handler, cleanup, node.finalbody[0].line)
        self.push_block(node, Block("finally_end", regions=1))
        self.stmts(node.finalbody)
        self.unit.blocks.pop()
        if b.reachable():
            b.pop_block()
            b.emit(Op.SWAP, 2)
            b.emit(Op.POP_EXCEPT)
            b.emit(Op.RERAISE)
        self.cleanup_handler(cleanup)
        b.place(end)

    def protected(self, node: ast.Node, block: Block, handler: Label, body: Callable[[], None]) -> None:
        """``body`` under ``handler``, with ``block`` telling early exits what leaving
        it takes; the caller closes the protected region (POP_BLOCK)."""
        self.unit.b.setup(handler)
        self.push_block(node, block)
        body()
        self.unit.blocks.pop()

    def handler_entry(self, handler: Label, cleanup: Label, line: int) -> None:
        """[exc] -> [prev, exc]: the exception is now the one being handled, and
        ``cleanup`` restores ``prev`` if the handler's own code raises."""
        b = self.unit.b
        b.place(handler)
        b.line = line
        b.emit(Op.PUSH_EXC_INFO)
        b.setup(cleanup)

    def cleanup_handler(self, label: Label) -> None:
        """[prev, exc, new]: the exception handled before is restored and new propagates."""
        b = self.unit.b
        b.place(label)
        b.emit(Op.SWAP, 2)
        b.emit(Op.POP_TOP)
        b.emit(Op.SWAP, 2)
        b.emit(Op.POP_EXCEPT)
        b.emit(Op.RERAISE)

    def clear_name(self, name: str) -> None:
        """``name = None; del name``: an `except ... as name` target does not outlive its clause."""
        self.load_const(None)
        self.store_name(name)
        self.delete_name(name)

    def stmt_With(self, node: ast.With) -> None:
        self.with_items(node, 0)

    def with_items(self, node: ast.With, index: int) -> None:
        # manager; BEFORE_WITH; (store target | POP_TOP); SETUP h; body; POP_BLOCK; exit(None x3); JUMP end
        # h: PUSH_EXC_INFO; SETUP cleanup; WITH_EXCEPT_START; POP_JUMP_IF_TRUE quiet
        #    POP_BLOCK; SWAP 2; POP_EXCEPT; RERAISE
        # quiet: POP_BLOCK; POP_TOP; POP_EXCEPT; POP_TOP; cleanup: ...; end:
        b = self.unit.b
        item = node.items[index]
        handler, cleanup, quiet, end = Label(), Label(), Label(), Label()
        self.expr(item.context)
        b.line = item.line
        b.emit(Op.BEFORE_WITH)

        # The target is bound before the protected region opens (CPython opens it
        # first): a handler unwinds to a depth fixed at SETUP, here [exit] alone.
        if item.target is None:
            b.emit(Op.POP_TOP)
        else:
            self.store(item.target)

        def body() -> None:
            if index + 1 < len(node.items):
                self.with_items(node, index + 1)
            else:
                self.stmts(node.body)
        self.protected(node, Block("with", line=item.line), handler, body)
        if b.reachable():
            b.pop_block()
            self.call_exit(item.line)
            b.jump_to(end)
        self.handler_entry(handler, cleanup, item.line)
        b.emit(Op.WITH_EXCEPT_START)
        b.jump(Op.POP_JUMP_IF_TRUE, quiet)
        b.pop_block()
        b.emit(Op.SWAP, 2)
        b.emit(Op.POP_EXCEPT)
        b.emit(Op.RERAISE)
        b.place(quiet)
        b.pop_block()
        b.emit(Op.POP_TOP)
        b.emit(Op.POP_EXCEPT)
        b.emit(Op.POP_TOP)
        b.jump_to(end)
        self.cleanup_handler(cleanup)
        b.place(end)

    def call_exit(self, line: int) -> None:
        """[exit] -> []: ``exit(None, None, None)``, its result dropped."""
        b = self.unit.b
        b.line = line
        for _ in range(3):
            self.load_const(None)
        b.emit(Op.CALL, 3)
        b.emit(Op.POP_TOP)
