import os


def run() -> None:
    os.system("make")
    os.popen("uname -a")
