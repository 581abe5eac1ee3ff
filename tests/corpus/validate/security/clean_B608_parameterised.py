def find_user(cursor, name: str) -> object:
    cursor.execute("SELECT * FROM users WHERE name = %s", (name,))
    return cursor.fetchall()


def describe(selection: str) -> str:
    return "selected from the list: " + selection
