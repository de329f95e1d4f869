"""The shared kernel: wire contracts and the small pieces every service uses once."""
