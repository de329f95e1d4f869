"""Unit and component tests of the calls service."""
