"""Bulk import of residents from a county roster (居民花名册, xlsx or csv): reading, rows, the import."""
