"""The doubles: the reply queue both share, and the two executors of plans (respx mock, loopback server)."""
