def connect(**kwargs: str) -> None:
    del kwargs


connect(user="admin", password="hunter2")
