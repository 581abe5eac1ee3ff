import os


def connect(**kwargs: str) -> None:
    del kwargs


connect(user="admin", password=os.environ["DB_PASSWORD"])
connect(user="admin", timeout="30")
