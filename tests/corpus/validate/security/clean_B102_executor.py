from concurrent.futures import ThreadPoolExecutor


def execute(task: str) -> str:
    return task.upper()


with ThreadPoolExecutor() as executor:
    executor.submit(execute, "x")
