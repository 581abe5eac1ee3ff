def compute(expression: str) -> object:
    return eval(expression)
