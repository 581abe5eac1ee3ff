def wrapper(*args: object, **kwargs: object) -> None:
    del args, kwargs


wrapper("echo", "hi", shell=True)
