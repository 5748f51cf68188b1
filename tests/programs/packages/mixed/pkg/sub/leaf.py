from .. import VALUE
def shout(s):
    return s.upper() + "!" + str(VALUE)
