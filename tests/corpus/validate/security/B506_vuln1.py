import yaml


def read(text: str) -> object:
    return yaml.load(text)
