"""precert: prior-authorization (pre-certification) platform.

Service lines come in; the policy engine says which need approval; an
authorization walks its state machine to a determination through a payer
gateway; every step is an event feeding follow-up, appeals, audit and analytics.
"""

__version__ = "0.1.0"
