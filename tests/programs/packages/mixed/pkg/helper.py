from .sub.leaf import shout
def twice(x):
    return shout(str(x)) * 2
