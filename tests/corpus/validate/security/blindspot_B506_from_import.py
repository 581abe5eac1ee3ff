from yaml import load


def read(text: str) -> object:
    return load(text)
