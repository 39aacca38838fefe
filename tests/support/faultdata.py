"""The stream and the request the fault-injection tests work on."""

from __future__ import annotations

from writer_stream_testkit.scripts.chat import StreamScript

SCRIPT = StreamScript().content("Sunny", " and", " warm \u2600").finish("stop")
"""Three text chunks and a stop: enough for a fault to land before, inside and after the text."""
BODY = {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hi"}], "stream": True}
"""A streamed chat request, as a client sends it."""
USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
"""A system prompt, then the user's message: what ``last_user`` must pick out."""
