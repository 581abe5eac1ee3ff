def define(name: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(f"def {name}(): pass", namespace)
    return namespace
