class Config:
    def __init__(self) -> None:
        self.db_password = "s3cr3t-value"


def check(user_token: str) -> bool:
    return user_token == "letmein-token"
