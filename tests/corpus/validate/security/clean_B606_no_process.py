import os


def executable(path: str) -> bool:
    return os.access(path, os.X_OK)
