def update(cursor, value: str, ident: str) -> None:
    sql = "UPDATE items SET value = '" + value + "' WHERE id = " + ident
    cursor.execute(sql)


def insert(cursor, value: str) -> None:
    cursor.execute("INSERT INTO items (value) VALUES ('{}')".format(value))
