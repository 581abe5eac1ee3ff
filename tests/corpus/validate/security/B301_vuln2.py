import pickle


def load(path: str) -> object:
    with open(path, "rb") as handle:
        return pickle.load(handle)


def unpickler(handle) -> object:
    return pickle.Unpickler(handle).load()
