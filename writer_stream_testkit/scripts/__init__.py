"""Scripts: what a reply sends (chat and the other streaming endpoints), faults, and the plans they render to."""
