"""Interaction pages (sign-in and step-up) of the Provider: the endpoints are
:mod:`.routes`, the pages :mod:`.render`. The package itself imports neither, so the
authorization endpoint can render its form_post page without loading the interaction
endpoints, which build on it."""
