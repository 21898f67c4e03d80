"""The built-in society turn policies, one module each; every module here joins ``POLICIES`` when it is first read."""
