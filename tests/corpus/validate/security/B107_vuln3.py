class Database:
    def open(self, name: str, user: str = "root", passwd: str = "toor") -> str:
        return name + user + passwd
