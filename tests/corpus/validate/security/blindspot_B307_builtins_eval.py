import builtins


def parse(text: str) -> object:
    return builtins.eval(text)
