"""Waiting policies (issue 30): reminders, escalation, a default outcome and k-of-n quorum.

Built on the waits of :mod:`.._wait`: a policy registers one wait per message it may send,
so NATS recovery, timeouts, cancellation and closing work as for one message. Every message
id derives from the caller's ``message_id`` (:mod:`.ids`), so a policy run again after a crash
sends nothing twice, and its schedule (:mod:`.schedule`) counts from the first message's
``created_at`` on the server.
"""
