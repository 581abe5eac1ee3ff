import subprocess


def run(args: list[str]) -> int:
    return subprocess.call(args)
