def find_user(cursor: object, name: str) -> object:
    query = "SELECT * FROM users WHERE name = '%s'" % name
    return query
