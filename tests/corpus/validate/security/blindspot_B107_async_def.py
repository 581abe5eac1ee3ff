async def fetch(url: str, *, secret: str = "abc", timeout: float = 1.0) -> str:
    return url + secret + str(timeout)
