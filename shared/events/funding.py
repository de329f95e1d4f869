"""Events the funding service publishes (topics ``funding.line``, ``funding.commitment``,
``funding.ledger``)."""
