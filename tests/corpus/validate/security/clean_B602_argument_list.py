def shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def describe(shell: bool = False) -> str:
    return "shell" if shell else "no shell"
