#!/bin/sh
# Report the size of a directory.
df -h -- "$1"
du -sh "$1"
