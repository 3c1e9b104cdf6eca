package org.serverstarter.superdaemon.posix;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

/**
 * The libc functions the superdaemon needs, bound through jnr-ffi. Only {@link Posix} sees this interface, so the
 * rest of the code never handles raw return codes or errno.
 */
public interface LibC {
    int socket(int domain, int type, int protocol);

    int setsockopt(int fd, int level, int option, @In int[] value, int length);

    int bind(int fd, @In byte[] address, int length);

    int listen(int fd, int backlog);

    int accept4(int fd, Pointer address, Pointer length, int flags);

    int getsockopt(int fd, int level, int option, @Out int[] value, int[] length);

    int getsockname(int fd, @Out byte[] address, int[] length);

    long recvmsg(int fd, Pointer message, int flags);

    long sendto(int fd, @In byte[] buffer, long length, int flags, @In byte[] address, int addressLength);

    int open(String path, int flags, int mode);

    int close(int fd);

    long read(int fd, @Out byte[] buffer, long length);

    long pread(int fd, @Out byte[] buffer, long length, long offset);

    long write(int fd, @In byte[] buffer, long length);

    long pwrite(int fd, @In byte[] buffer, long length, long offset);

    int ftruncate(int fd, long length);

    int fcntl(int fd, int command, int argument);

    int chmod(String path, int mode);

    int connect(int fd, @In byte[] address, int length);

    int geteuid();

    int dup2(int fd, int target);

    int pipe2(@Out int[] fds, int flags);

    int umask(int mask);

    int flock(int fd, int operation);

    int kill(int pid, int signal);

    int waitpid(int pid, @Out int[] status, int options);

    long signal(int signal, long handler);

    String strerror(int errno);

    int posix_spawn_file_actions_init(Pointer actions);

    int posix_spawn_file_actions_destroy(Pointer actions);

    int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int target);

    int posix_spawn_file_actions_addclose(Pointer actions, int fd);

    int posix_spawn_file_actions_addopen(Pointer actions, int fd, String path, int flags, int mode);

    int posix_spawn_file_actions_addchdir_np(Pointer actions, String path);

    int posix_spawn_file_actions_addclosefrom_np(Pointer actions, int from);

    int posix_spawnattr_init(Pointer attributes);

    int posix_spawnattr_destroy(Pointer attributes);

    int posix_spawnattr_setflags(Pointer attributes, short flags);

    int posix_spawnattr_setpgroup(Pointer attributes, int pgroup);

    int posix_spawnattr_setsigmask(Pointer attributes, Pointer mask);

    int posix_spawnattr_setsigdefault(Pointer attributes, Pointer signals);

    int sigemptyset(Pointer set);

    int posix_spawn(@Out int[] pid, String path, Pointer actions, Pointer attributes,
                    @In String[] argv, @In String[] envp);

    // For start_server --upgrade: the state handed to the new image, the descriptors it keeps, the signals held
    // across the exec, and the exec itself.

    int memfd_create(String name, int flags);

    int sigaddset(Pointer set, int signal);

    int pthread_sigmask(int how, Pointer set, Pointer old);

    int execve(String path, @In String[] argv, @In String[] envp);
}
