"""Pure domain of performance contracts and pôle labels: rules and state machines, no I/O."""
