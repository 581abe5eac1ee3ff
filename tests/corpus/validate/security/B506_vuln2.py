import yaml


def read(text: str) -> object:
    return yaml.load(text, Loader=yaml.Loader)


def read_unsafe(text: str) -> object:
    return yaml.load(text, Loader=yaml.UnsafeLoader)
