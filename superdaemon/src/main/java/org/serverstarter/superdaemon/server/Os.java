package org.serverstarter.superdaemon.server;

import java.io.IOException;

import org.serverstarter.superdaemon.posix.ErrnoException;
import org.serverstarter.superdaemon.posix.SpawnRequest;

/**
 * What the {@link Supervisor} asks of the operating system: processes, signals, time and the events that wake it.
 * {@link PosixOs} is the real one; SupervisorTest drives the loop through a fake, with no process and no sleep.
 */
interface Os {
    /** Starts a worker; errors such as a missing program come back here, at once. */
    long spawn(SpawnRequest request) throws ErrnoException;

    /** The raw wait status of our child {@code pid} if it has exited, else -1; ECHILD when it is not our child. */
    int reap(long pid) throws ErrnoException;

    /** Any exited child as {@code [pid, status]}, or null; only for a start_server that runs as PID 1. */
    long[] reapAnyChild();

    /** {@code kill(2)}: a negative {@code pid} names a process group. */
    void kill(long pid, int signal) throws ErrnoException;

    /** Whether start_server is PID 1, and so must reap every orphan. */
    boolean isInit();

    /** A monotonic clock, in nanoseconds. */
    long nanoTime();

    /** The wall clock, in seconds (Perl's {@code time}, for the auto-restart timer). */
    long currentSeconds();

    /** The wall clock, in milliseconds since the epoch (the times --status shows). */
    long currentMillis();

    /** The next event, waiting for it until {@code deadlineNanos} ({@link #nanoTime()}); null if none came. */
    Event awaitEvent(long deadlineNanos);

    /** Sets the nice value of the worker's Linux autogroup (see {@link Autogroup}). */
    void setAutogroupNice(long pid, int nice) throws IOException;
}
