"""Authentication factors: verifiers (one module per factor) and the provider plug-in interface."""
