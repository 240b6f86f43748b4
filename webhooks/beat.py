SCHEDULE = {
    # Retries come due at their own time: the pump sends whatever is due every minute.
    "webhooks-pump": {"task": "webhooks.tasks.webhooks_pump", "schedule": 60.0},
}
