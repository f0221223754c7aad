"""Projects and tasks in the API: types, filters, queries and mutations."""
