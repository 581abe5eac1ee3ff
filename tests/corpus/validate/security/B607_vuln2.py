import os
import subprocess


def clean() -> None:
    os.system("make clean")
    subprocess.Popen("ls -l", shell=True)
