def parse(text: str) -> object:
    value = eval(text, {"__builtins__": {}})
    return value
