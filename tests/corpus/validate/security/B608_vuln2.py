def delete(cursor, table: str, ident: int) -> None:
    cursor.execute(f"DELETE FROM {table} WHERE id = {ident}")
