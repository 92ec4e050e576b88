"""The resident master index (居民主索引): residents, households, special groups, merges."""
