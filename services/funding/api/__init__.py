"""The funding service's HTTP API: commands of the State, reads for every role."""
