import { constants, openSync } from 'node:fs';
import { isatty } from 'node:tty';

/**
 * A descriptor for writing to `fd` that never blocks the process when `fd` is a terminal.
 *
 * Node makes a terminal's descriptor *blocking* (so that output is not interleaved): a
 * terminal that stops taking output (Ctrl-S, a stalled ssh session) then holds the whole
 * process inside write(2), where no timer can fire. The terminal is opened again, through
 * /dev/fd, as a file description of our own with O_NONBLOCK: a full terminal answers EAGAIN
 * instead. The shell's description (shared with fd 1 and 2) keeps its flags, so nothing
 * changes for the shell after the relay exits.
 *
 * Anything else comes back as it is: a pipe is already non-blocking once Node opened its
 * stream, and a file never answers EAGAIN. So does a terminal that cannot be opened again
 * (no /dev/fd): it then blocks as before.
 */
export function nonBlockingTty(fd: number): number {
  if (!isatty(fd)) return fd;
  try {
    return openSync(`/dev/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return fd;
  }
}
