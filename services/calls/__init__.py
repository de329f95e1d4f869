"""The calls service: calls for projects, from their opening to the selection of dossiers."""
