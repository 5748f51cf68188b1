class ShapeError(ValueError):
    pass
