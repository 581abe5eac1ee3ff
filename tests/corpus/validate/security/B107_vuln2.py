class Service:
    def connect(self, host: str, token: str = "default-token") -> str:
        return host + token
