import os


def listing(path: str) -> str:
    return os.popen("ls " + path).read()
