def helper(command: str, shell: bool = False) -> None:
    del command, shell


helper("ls -l", shell=True)
