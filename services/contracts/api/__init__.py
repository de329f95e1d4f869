"""The HTTP edge: thin routes that authenticate, validate and call a handler. A refusal (the
kernel's ``DomainError``) propagates: ``create_service_app`` answers it with its status."""
