"""Commands and events of the funding service: load, decide with the domain, save guarded."""
