package action

import "syscall"

// syscallZero probes whether a process is alive without signalling it.
const syscallZero = syscall.Signal(0)
