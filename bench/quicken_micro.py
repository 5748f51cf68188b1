"""What a type-specialised BINARY_OP would save in tier 0's loop, statement by
statement (timeit, locals): the generic path calls the operator function and
tests whether the heap must adopt the result; the specialised one guards both
operand types and adds inline. Run: python bench/quicken_micro.py"""

import timeit

SETUP = ("import operator; arg = operator.add; left = 5; right = 7; fl = 2.5; fr = 3.5; "
         "small = 1 << 20; neg_small = -small; adopt = lambda v: v")
# the generic path, as tier 0's loop runs BINARY_OP: the operator function, then the adoption test
GENERIC = """
value = arg({a}, {b})
if (type(value) is not int or not neg_small < value < small) and type(value) is not float:
    value = adopt(value)
"""
CASES = {
    "generic, ints": GENERIC.format(a="left", b="right"),
    "specialised, ints": """
if type(left) is int and type(right) is int:
    value = left + right
    if not neg_small < value < small:
        value = adopt(value)
""",
    "generic, floats": GENERIC.format(a="fl", b="fr"),
    "specialised, floats": """
if type(fl) is float and type(fr) is float:
    value = fl + fr
""",
}

for name, statement in CASES.items():
    best = min(timeit.repeat(statement, SETUP, number=2_000_000, repeat=5)) / 2e6 * 1e9
    print(f"{name:22} {best:5.1f} ns")
