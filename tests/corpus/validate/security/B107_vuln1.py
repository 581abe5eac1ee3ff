def login(user: str, password: str = "admin") -> bool:
    return bool(user and password)
