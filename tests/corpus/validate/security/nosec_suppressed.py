import subprocess


def run(command: str) -> int:
    return subprocess.call(command, shell=True)  # nosec B602  # trusted constant command


def compute(expression: str) -> object:
    return eval(expression)  # nosec


def compute_other(expression: str) -> object:
    return eval(expression)  # nosec B602  # a different test id: this one is still reported
