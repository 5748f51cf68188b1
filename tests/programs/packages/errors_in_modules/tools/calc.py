from .base import divide


def ratio(a, b):
    return divide(a, b) * 2
