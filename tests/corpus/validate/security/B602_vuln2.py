import subprocess as sp


def run(user_input: str) -> str:
    return sp.check_output("ls " + user_input, shell=True).decode()


def spawn(cmd: str) -> None:
    sp.Popen(cmd, shell=True)
