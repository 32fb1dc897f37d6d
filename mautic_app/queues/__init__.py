"""The queues between the public routes and the writers of what they accept: Redis lists
(``hits``, ``form_posts``, sharing ``redis_queue``) or, without Redis, one writer thread per
process (``group_writer``)."""
