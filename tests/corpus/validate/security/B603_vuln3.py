from subprocess import Popen, check_output


def start(args: list[str]) -> None:
    Popen(args)
    check_output(["/usr/bin/env", "true"])
