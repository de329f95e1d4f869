"""Pure rules of the budget: no I/O, every change returns the new state and the events it makes."""
