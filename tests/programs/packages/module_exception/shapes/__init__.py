from .errors import ShapeError


def area(w, h):
    if w < 0 or h < 0:
        raise ShapeError(f"negative size {w}x{h}")
    return w * h
