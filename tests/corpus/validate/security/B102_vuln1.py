def run(code: str) -> None:
    exec(code)
