"""The advisory locks lcdb takes: key 1 is lcdb's namespace, key 2 is 0 for the reference data or the
`hashtext` of a catalog table name, so two writers of one catalog table queue instead of interleaving."""

ADVISORY_LOCK_NAMESPACE = 0x1CDB


def lock_catalog_table(cursor, catalog_table: str) -> None:
    """Take the transaction-scoped lock of one catalog table (waits for another writer of it)."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (ADVISORY_LOCK_NAMESPACE, catalog_table))
