"""The contracts service: a performance contract for every pôle, from roadmap to evaluation."""
