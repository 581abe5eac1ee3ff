import os


def clean(path: str) -> None:
    os.system("rm -rf " + path)
