import dill
import shelve


def load(data: bytes) -> object:
    return dill.loads(data)


def open_db(path: str) -> object:
    return shelve.open(path)
