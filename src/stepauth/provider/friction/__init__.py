"""Friction telemetry of the Provider: the records a step-up leaves in the audit log
(:mod:`.recorder`, called at the authorization endpoint and the interaction pages;
:mod:`.pages`, called by the step-up pages of ``/account`` and the console) and the
relying party's own reports (``POST /friction/events``, :mod:`.events`).

What the records hold is :mod:`stepauth.audit.friction_records`; what the report makes of
them is :mod:`stepauth.audit.friction`. The package imports neither submodule, so the
authorization endpoint can load the recorder without the events endpoint.
"""
