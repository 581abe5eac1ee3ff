import subprocess


def status() -> str:
    return subprocess.check_output(["git", "status"]).decode()
