"""What rolecall draws in a terminal, kept apart from the library (which only logs) and the CLI (which only calls).

``render`` turns transcripts, messages, task graphs and timelines into rich renderables;
``live`` draws a reply while it is written; ``progress`` keeps progress bars in step with a
batch or a long read; ``person`` lets someone at the terminal write a side's turns. The web
app is :mod:`rolecall.viewer`; a transcript's perspective (whose turns a dataset trains on)
is :mod:`rolecall.transcripts`.
"""
