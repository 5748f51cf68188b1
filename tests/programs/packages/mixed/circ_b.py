import circ_a
seen = circ_a.done
try:
    from circ_a import later
except ImportError as e:
    print(str(e).split(" (/")[0])
