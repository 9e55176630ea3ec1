"""Stage: analysis. Statistics (``stats``) and the claims-ledger rules and rendering (``ledger``)."""
