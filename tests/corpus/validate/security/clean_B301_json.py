import json


def load(data: bytes) -> object:
    return json.loads(data)


def pickles_count(jar: list[str]) -> int:
    return len(jar)
