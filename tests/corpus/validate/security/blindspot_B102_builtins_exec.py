import builtins


def run(code: str) -> None:
    builtins.exec(code)
