import os


def system_name() -> str:
    return os.name


def describe(system: str) -> str:
    return f"running on {system}"
