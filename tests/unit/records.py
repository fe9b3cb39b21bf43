"""API records as the session server returns them, for mocked responses."""

SESSION = {
    "session_id": "s1",
    "status": "ACTIVE",
    "message_data": {},
    "message_data_template": {},
    "expiry_date": None,
    "subject_id": None,
    "created_at": "2026-11-25T10:00:00Z",
    "updated_at": "2026-11-25T10:00:00Z",
}
MESSAGE = {
    "message_id": "m1",
    "session_id": "s1",
    "channel_id": "c",
    "message": "hi",
    "subject_id": None,
    "state": "SENT",
    "response": None,
    "responded_at": None,
    "created_at": "2026-11-25T10:00:00Z",
}
