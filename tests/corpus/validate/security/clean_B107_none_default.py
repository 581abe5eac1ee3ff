def login(user: str, password: str | None = None) -> bool:
    return bool(user and password)


def retrieval(x: int, password_length: int = 12) -> int:
    return x + password_length
