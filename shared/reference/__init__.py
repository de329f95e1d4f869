"""Reference data of the policy, copied into the repository: the pôles, the regions, the facts."""
