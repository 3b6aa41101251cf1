#!/bin/sh
# Prints each argument on its own framed line, then the message variable.
for a in "$@"; do printf '[%s]\n' "$a"; done
printf 'message=[%s]\n' "$message"
