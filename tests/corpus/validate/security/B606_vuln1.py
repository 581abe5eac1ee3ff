import os


def launch(program: str) -> None:
    os.execl(program, program)
