"""A record a connector could not take: the `unreadable` stream ingest writes and normalize rejects.

When an API item or a file line cannot be read into a raw record (a string where an object
belongs, a time field holding a number, JSON nested too deep, invalid UTF-8), ingest keeps
it anyway as a raw record of this stream, so that nothing fetched is lost, and normalize
turns it into a reject of stage `ingest`, whatever the source type. Its payload:

    stream   the stream the item came in (messages, incidents, rows, ...)
    field    the field, as the source names it, that could not be read (`<item>`: the
             item itself, `<page>`: the page that should hold the items)
    error    why, in one line
    item     the item verbatim, when it can be written as JSON; else
    text     the item (or line) as text, cut to MAX_SHOWN characters
    file, line   for a file line: which file and line
"""
UNREADABLE = "unreadable"
MAX_SHOWN = 500
