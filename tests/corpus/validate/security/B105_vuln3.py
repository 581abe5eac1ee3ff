SETTINGS = {"api_secret": "abc123"}
secret_key: str = "django-insecure-key"
