"""Column hints zoomsync adds to dlt's schema: the vocabulary shared by the source, which
sets them from the catalog, and the destinations, which read them from the schema without
knowing where they came from (a destination never imports the catalog)."""

from __future__ import annotations

# On a column that holds personal data; the value says what kind: "email", "name", or
# "other" (what to mask it with is then judged by its name). dlt keeps `x-` hints in the
# schema it hands every destination client.
PERSONAL = "x-zoomsync-personal"
OTHER = "other"
