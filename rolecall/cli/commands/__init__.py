"""The built-in commands, one module per group of them; each module's commands register themselves.

:data:`rolecall.cli.command.COMMANDS` imports every public module here the first time it is
listed, so a new command is one new file in this folder with nothing else edited.
"""
