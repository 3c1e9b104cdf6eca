package org.serverstarter.superdaemon.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;

/**
 * The {@code --status-file}: one {@code GENERATION:PID} line per live worker. Each write goes to a new file with an
 * unpredictable name in the same directory, created exclusively (so never through a link someone planted), and is
 * renamed over the file, so readers never see half of one. Lines are sorted by generation as numbers (Perl sorts
 * them as strings, so 10 came before 9). The file is removed at exit only if it is still the one this process wrote,
 * so that a second start_server that fails to bind leaves the running one's file alone.
 */
final class StatusFile {
    private static final int NAME_ATTEMPTS = 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path path;
    private Object writtenInode;

    StatusFile(String path) {
        this.path = Path.of(path);
    }

    /** Proves, before any worker runs, that the file can be written (Perl finds out after the first start). */
    void checkWritable() {
        try {
            Temporary temporary = createTemporary();
            temporary.channel().close();
            Files.delete(temporary.path());
        } catch (IOException e) {
            throw creationFailure(e);
        }
    }

    /** Replaces the file; the message of a failure names the file and the OS's reason. */
    void write(SortedMap<Long, Long> pidByGeneration) throws IOException {
        StringBuilder content = new StringBuilder();
        for (Map.Entry<Long, Long> e : pidByGeneration.entrySet()) {
            content.append(e.getKey()).append(':').append(e.getValue()).append('\n');
        }
        Temporary temporary;
        try {
            temporary = createTemporary();
        } catch (IOException e) {
            throw new IOException(creationFailure(e).getMessage());
        }
        try {
            try (SeekableByteChannel channel = temporary.channel()) {
                ByteBuffer bytes = StandardCharsets.US_ASCII.encode(content.toString());
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
            }
            Object inode = Files.getAttribute(temporary.path(), "unix:ino", LinkOption.NOFOLLOW_LINKS);
            Files.move(temporary.path(), path, StandardCopyOption.ATOMIC_MOVE);
            writtenInode = inode;
        } catch (IOException e) {
            Files.deleteIfExists(temporary.path());
            throw new IOException(Errors.fatal("failed to write " + temporary.path() + " and rename it to " + path
                    + ":", e).getMessage());
        }
    }

    private record Temporary(Path path, SeekableByteChannel channel) {
    }

    /**
     * A new file with a random name beside the status file. A name that is taken (someone else's file, or a link
     * planted there) is never opened: another is tried.
     */
    private Temporary createTemporary() throws IOException {
        for (int attempt = 1; ; attempt++) {
            Path temporary = temporaryName();
            try {
                return new Temporary(temporary, Files.newByteChannel(temporary, Set.of(StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)));
            } catch (FileAlreadyExistsException e) {
                if (attempt == NAME_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    private Fatal creationFailure(IOException e) {
        String file = e instanceof FileSystemException f && f.getFile() != null ? f.getFile() : path + ".tmp-*";
        return Errors.fatal("failed to create temporary file:" + file + ":", e);
    }

    void removeIfCreated() {
        try {
            if (writtenInode != null
                    && Objects.equals(writtenInode, Files.getAttribute(path, "unix:ino", LinkOption.NOFOLLOW_LINKS))) {
                Files.delete(path);
            }
        } catch (IOException ignored) {
            // Gone already, or replaced: either way not ours to remove.
        }
    }

    private Path temporaryName() {
        byte[] random = new byte[8];
        RANDOM.nextBytes(random);
        return path.resolveSibling(path.getFileName() + ".tmp-" + HexFormat.of().formatHex(random));
    }
}
