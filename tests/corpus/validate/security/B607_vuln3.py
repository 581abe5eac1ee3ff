from subprocess import run


def build() -> None:
    run(["cargo", "build"], check=True)
