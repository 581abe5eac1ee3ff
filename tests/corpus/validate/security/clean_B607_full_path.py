import shutil


def find_git() -> str | None:
    return shutil.which("git")
