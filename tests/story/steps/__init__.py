"""The story's steps, one module per part of phase 2. Each step is ``async (platform, cast)``
and returns one line saying what happened, as the State, the CDC, the pôles or the regions did
it through the public APIs."""
