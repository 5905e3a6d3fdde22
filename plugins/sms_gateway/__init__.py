"""SMS delivery of holder notifications (development log, generic HTTP gateway, cloud SMS)."""
