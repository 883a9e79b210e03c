"""`python -m zoomsync`."""

from zoomsync.cli import main

main()
