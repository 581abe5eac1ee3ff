def run(args: list[str]) -> str:
    return " ".join(args)


class Process:
    def call(self, args: list[str]) -> int:
        return len(args)
