"""Notify's rules, pure Python: who may see what, what matches, signing, retries, templates."""
