"""Services between `vigil.nvr` (which builds and owns them) and the API: each gets its collaborators through its
constructor."""
