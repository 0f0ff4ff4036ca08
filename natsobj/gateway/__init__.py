"""The HTTP gateway (``natsobj serve``): Supabase Storage and Sentry Objectstore over NATS."""
