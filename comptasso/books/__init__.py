"""Reading the books: the group file, reference files, safe loading, the cache and the facade."""
