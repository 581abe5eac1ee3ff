def make(**kwargs: str) -> dict[str, str]:
    return dict(kwargs)


settings = make(name="svc", secret="topsecret", passwd="pw12345")
