class Plugin:
    def load(self, source: str, scope: dict[str, object]) -> None:
        if source:
            exec(compile(source, "<plugin>", "exec"), scope)
