class Client:
    def login(self, *, token: str) -> None:
        self.token = token


client = Client()
client.login(token="ghp_abcdef123456")
