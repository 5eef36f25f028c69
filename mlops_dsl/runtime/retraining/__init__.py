"""The retraining trigger: alerts, schedules and new data in; at most the allowed training runs out."""
