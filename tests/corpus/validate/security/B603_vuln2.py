import subprocess


def run(args: list[str]) -> str:
    completed = subprocess.run(args, capture_output=True, check=True, shell=False)
    return completed.stdout.decode()
