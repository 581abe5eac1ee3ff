import yaml as y


def read(path: str) -> object:
    with open(path) as handle:
        return y.load(handle, Loader=y.FullLoader)
