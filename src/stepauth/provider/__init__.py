"""stepauth.provider: a step-up-aware OpenID Provider."""
