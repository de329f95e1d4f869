"""What the rules of money answer when a request cannot be met."""


class RuleBroken(Exception):
    """The request would break a rule of money (a payment above what is left, a transfer that
    leaves a line below what it has committed, ...); nothing changed."""
