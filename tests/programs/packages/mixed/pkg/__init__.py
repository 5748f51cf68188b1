VALUE = 7
from . import helper
__all__ = ["star_name", "helper"]
star_name = "starred"
