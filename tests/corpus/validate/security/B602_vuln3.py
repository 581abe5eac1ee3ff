from subprocess import run


def archive(path: str) -> None:
    run(f"tar czf backup.tgz {path}", shell=True, check=True)
