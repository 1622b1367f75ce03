"""Raw mail bytes -> InboundMessage: Chinese charsets, attachments, limits, loop headers."""
