import os


def replace(program: str, args: list[str]) -> None:
    os.execvp(program, args)
