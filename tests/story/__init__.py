"""The Pôles 2.0 story, 2008-2012, replayed from outside through the services' public APIs.

``python -m tests.story`` (``make demo``) runs it on the local platform with a simulated clock
shared by every process; ``tests/e2e/test_story.py`` runs a shortened cast of the same steps
against in-process services and a manual clock, and checks the story's invariants.
"""
