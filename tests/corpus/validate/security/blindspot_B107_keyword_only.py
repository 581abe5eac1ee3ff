def configure(name: str, *, api_token: str = "tok-123", retries: int = 3) -> str:
    return name + api_token + str(retries)
