import os


def spawn(program: str) -> int:
    return os.spawnv(os.P_WAIT, program, [program])


def start(path: str) -> None:
    os.startfile(path)
