"""REST routers: thin, they translate HTTP to service calls and back."""
