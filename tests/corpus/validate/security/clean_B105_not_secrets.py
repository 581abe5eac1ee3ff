import os


def get() -> str:
    return os.environ.get("APP_PASSWORD", "")


password_hint = get()
password = os.environ.get("PASSWORD")
password_field_label = get()
token_count = 3
