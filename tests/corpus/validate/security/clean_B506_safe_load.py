import yaml


def read(text: str) -> object:
    return yaml.safe_load(text)


def read_safe(text: str) -> object:
    return yaml.load(text, Loader=yaml.SafeLoader)
